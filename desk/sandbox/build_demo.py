"""Build data/demo (the Nimbus Voice DNS outage) from the shared real-tweet files. Run once by hand:

    .venv/bin/python -m desk.sandbox.build_demo /work/shared/data

Its output is committed; the desk never runs this and never reads /work/shared. Customer
texts are real public tweets: the brand or airline handle they were addressed to becomes
@NimbusVoice (on Facebook the leading handle is dropped, as comments carry none) and the rest
stays as the person wrote it. Texts that name another brand, a flight or luggage are left
out rather than rewritten. The brand's own status posts, the people (names, handles,
follower counts) and the hostile test items are written for the demo and marked
``"constructed": true``. Everything is seeded, so a rebuild gives the same files.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "demo"
SEED = 20261127
DURATION = 4.5 * 3600
FIX_AT = 4 * 3600 + 5 * 60
DESK_USER_ID = "1580000000000000001"

# Words that tie a text to an airline trip, another brand or a product that is not a phone line.
OFF_TOPIC = re.compile(
    r"\b(flights?|fly|flew|flying|plane|planes|seats?|bags?|luggage|baggage|gate|pilots?|airports?|crew|"
    r"board(ing)?|miles|attendants?|land(ed|ing)?|tarmac|airlines?|airways|jet|trip|travel|tickets?|"
    r"reservations?|check-?in|layover|aircraft|tsa|cabin|vacation|rebook(ed|ing)?|cancelled|delayed?|"
    r"iphone|ipad|mac|xbox|playstation|ps4|alexa|kindle|echo|prime|spotify|playlist|song|uber|driver|"
    r"burrito|chipotle|food|pizza|order|package|delivery|amazon|apple|sprint|comcast|xfinity|verizon|"
    r"spectrum|t-?mobile|att|at&t|cox|centurylink|virgin|united|delta|southwest|american|usairways|jetblue|"
    r"lax|jfk|dfw|ord|sfo|bos|iad|dca|phl|clt|ewr|lga|atl|den|mia|las|sea|pdx|aus|hou|"
    r"fleek|itinerary|pilot|club|lounge|voucher|fare|points|rewards|rapidrewards|seating|aa|service to|"
    r"destinations?|weather|storm|snow|hotel|upgrade|status match|fifa|game|games|nintendo|sony|obama|trump|"
    r"romney|bernie|hillary|election|football|nfl|nba|tv|sw|late flight\w*|boston|avis|rental|in the air|a-list|"  # noqa: E501
    r"membership|counters?|arrived|cashier|dryer|boxing|twilight|episodes|download\w*|tesco|call of duty|pc|"
    r"printer|hp|paris|miami|fll|passengers?|oxgen|oxygen|companion|take off|ubereats|world at war|xboxhelp|"
    r"stores?|vouchers?|confirmation|open return|tag|fiancee'?s?|bill for a house)\b",
    re.IGNORECASE,
)
ON_TOPIC = re.compile(
    r"\b(phones?|calls?|calling|service|internet|connect(ion|ed)?|down|outage|working|signal|line|lines|"
    r"voicemail|dial|hold|help|fix(ed)?|support|wifi|network|restart|reboot|website|site|app|online|"
    r"status|hours?|minutes|answer(ing)?|nobody|no one|response|respond|customer service|update|back up|"
    r"error|issue|problem|again|still|week|today)\b",
    re.IGNORECASE,
)
# Generic tweet sets (TweetEval, speech acts) must talk about a phone service, not merely use a common word.
STRONG = re.compile(
    r"\b(internet|wifi|wi-fi|outage|voicemail|on hold|customer service|no service|dial tone|"
    r"landline|my phone (is|has|won't|keeps|isn't)|phone line|service is|service has|is down|"
    r"are down|went down)\b",
    re.IGNORECASE,
)
ANGRY = re.compile(
    r"(worst|ridiculous|unacceptable|never again|terrible|horrible|awful|joke|pathetic|"
    r"disgust|furious|angry|useless|incompetent|!!|😡|😤|🤬|#fail|shame|sucks|wtf)",
    re.IGNORECASE,
)
QUESTION = re.compile(r"\?")
THANKS = re.compile(r"\b(thanks?|thank you|thx|appreciate|great job|awesome|love)\b", re.IGNORECASE)
HANDLE_AT_START = re.compile(r"^(\.?@\w+[\s:,]*)+")
ANY_HANDLE = re.compile(r"@\w+")
URL = re.compile(r"https?://\S+")

TELECOM_TWCS = {
    "sprintcare",
    "comcastcares",
    "TMobileHelp",
    "VerizonSupport",
    "Ask_Spectrum",
    "CoxHelp",
    "CenturyLinkHelp",
    "ATVIAssist",
    "XboxSupport",
    "AskPlayStation",
    "hulu_support",
}


@dataclass
class Source:
    text: str  # adapted for X
    fb_text: str  # adapted for Facebook
    kind: str  # question / complaint / angry / thanks / other
    provenance: str
    lang: str = "en"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def adapt(text: str) -> tuple[str, str] | None:
    """X text with the addressee swapped for @NimbusVoice, and the Facebook form without it."""
    text = text.replace("\r", "").strip()
    match = HANDLE_AT_START.match(text)
    body = text[match.end() :] if match else text
    if ANY_HANDLE.search(body) or not body.strip():
        return None  # another account named inside: it would not read as ours
    body = body.strip()
    return f"@NimbusVoice {body}", body


def classify(text: str, negative: bool | None) -> str:
    if THANKS.search(text) and negative is False:
        return "thanks"
    if ANGRY.search(text):
        return "angry"
    if QUESTION.search(text):
        return "question"
    if negative:
        return "complaint"
    return "other"


def gather(shared: Path) -> list[Source]:
    out: list[Source] = []
    seen: set[str] = set()

    def add(
        raw: str, negative: bool | None, provenance: str, force_kind: str | None = None, strict: bool = False
    ) -> None:
        if OFF_TOPIC.search(raw) or not ON_TOPIC.search(raw) or (strict and not STRONG.search(raw)):
            return
        if "\\u" in raw:
            return  # literal escapes from the source would read as garbage in a demo
        adapted = adapt(raw)
        if adapted is None:
            return
        x_text, fb_text = adapted
        key = re.sub(r"\W+", "", fb_text.lower())
        if key in seen or len(fb_text) < 12:
            return
        seen.add(key)
        out.append(Source(x_text, fb_text, force_kind or classify(fb_text, negative), provenance))

    for row in read_csv(shared / "airline" / "tweets.csv"):
        sentiment = row["airline_sentiment"]
        if sentiment == "negative":
            add(row["text"], True, f"airline/tweets.csv tweet_id={row['tweet_id']}")
        elif sentiment == "positive":
            add(row["text"], False, f"airline/tweets.csv tweet_id={row['tweet_id']}")
        elif sentiment == "neutral" and "?" in row["text"]:
            add(row["text"], None, f"airline/tweets.csv tweet_id={row['tweet_id']}")
    by_id = {r["tweet_id"]: r for r in read_csv(shared / "twcs" / "sample.csv")}
    for row in by_id.values():
        if row["inbound"] != "True":
            continue
        parent = by_id.get(row["in_response_to_tweet_id"]) if row["in_response_to_tweet_id"] else None
        reply = by_id.get(row["response_tweet_id"].split(",")[0]) if row["response_tweet_id"] else None
        brand = (parent or reply or {}).get("author_id", "")
        # Telecom brands' customers first; other brands' pass only the on/off-topic word filters.
        if brand in TELECOM_TWCS or STRONG.search(row["text"]) or ON_TOPIC.search(row["text"]):
            add(
                row["text"],
                None if not THANKS.search(row["text"]) else False,
                f"twcs/sample.csv tweet_id={row['tweet_id']}",
            )
    for i, row in enumerate(read_csv(shared / "questions" / "train.csv")):
        if row["is_question"] == "1" and not row["text"].startswith("RT "):
            add(row["text"], None, f"questions/train.csv row={i + 2}", force_kind="question", strict=True)
    # TweetEval masks every handle as @user; a text addressed to @user (and nobody else) reads as ours.
    for name, label, kind in (
        ("emotion_train.csv", "anger", "angry"),
        ("sentiment_train.csv", "negative", None),
    ):
        for i, row in enumerate(read_csv(shared / "tweeteval" / name)):
            if row["label"] == label and row["text"].startswith("@user") and row["text"].count("@user") == 1:
                text = row["text"].replace("@user", "@NimbusVoice", 1).rstrip()
                add(text, True, f"tweeteval/{name} row={i + 2}", force_kind=kind, strict=True)
    return out


# Non-English and emoji-only texts, chosen by hand from twcs/sample.csv (tweet ids), addressee swapped.
SPECIAL_TWCS = {
    "non_english": [
        "@AmazonHelp 電話で対応してもらいましたが改良されませんでした。\n保証期間も過ぎてるので買い直しになるんでしょうね。",  # noqa: E501
        "@AppleSupport epıl bana yardımcı olur musun telefon internet konusunda çok yakıyo napcaz ?",
        "@AskPlayStation Creí que lo había hecho. Ahora les vuelvo a escribir por privado.",
        "@AmazonHelp こちらこそありがとうございました。",
    ],
    "emoji_only": ["@116115 @Tesco 😂😂🙄", "@comcastcares ✔"],
}
LANGS = {"電話": "ja", "epıl": "tr", "Creí": "es", "こちらこそ": "ja"}


def special_sources(shared: Path) -> list[Source]:
    rows = read_csv(shared / "twcs" / "sample.csv")
    out = []
    for kind, texts in SPECIAL_TWCS.items():
        for text in texts:
            row = next(r for r in rows if r["text"] == text)
            body = HANDLE_AT_START.sub("", text).strip()
            lang = next((v for k, v in LANGS.items() if k in text), "und" if kind == "emoji_only" else "en")
            out.append(
                Source(
                    f"@NimbusVoice {body}", body, kind, f"twcs/sample.csv tweet_id={row['tweet_id']}", lang
                )
            )
    return out


# ---------------------------------------------------------------- people

FIRST = (
    "Maria James Aisha Wei Carlos Fatima Tom Priya Olu Hannah Diego Mei Luca Amara Noah Sofia Kofi Elena "
    "Ravi Grace Mateo Yuki Ibrahim Chloe Daniel Leila Marcus Ana Jonas Nia Pedro Zoe Arjun Ines Sam Lina "
    "Ethan Rosa Hugo Maya Omar Julia Felix Ada Kenji Bea Victor Lucy Tariq Eva Ben Clara Ahmed Iris Leo "
    "Nora Raj Paula Finn Dara"
).split()
LAST = (
    "Garcia Smith Khan Chen Rossi Okafor Novak Patel Nguyen Silva Müller Kowalski Haddad Brown Tanaka "
    "Johansson Mensah Ivanova Costa Walsh Fernandes Kim Dubois Moreau Singh Lopez OBrien Adeyemi Berg "
    "Hughes Romero Sato Ali Evans Petrov Murphy Reyes Schmidt Osei Park"
).split()
BIG_ACCOUNTS = [
    # (name, username, followers, description) — fictional people and outlets
    ("Priya Raman", "priya_writes_tech", 182_400, "Tech reporter. Telecom, cloud, outages. DMs open."),
    ("Metro Daily News", "MetroDailyNews", 412_000, "Local news, weather and traffic."),
    ("Sam Okafor", "samokafor", 61_300, "Podcaster. Small business nerd."),
    ("Lakeside Dental Care", "LakesideDental", 2_350, "Family dentistry. Call us to book!"),
    ("Harbor City Plumbing", "HarborPlumbing", 1_120, "24/7 emergency plumbing"),
    ("Dr. Elena Ivanova", "drivanova_md", 24_800, "GP. Views my own."),
]
HOSTILE_NAME = '<img src=x onerror=alert(1)> =HYPERLINK("http://evil.example","Nimbus Support")'


def make_people(rng: random.Random, n: int) -> list[dict[str, Any]]:
    people = []
    used: set[str] = set()
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        style = rng.randrange(5)
        base = [
            f"{first}{last}",
            f"{first.lower()}_{last.lower()}",
            f"{first.lower()}{rng.randrange(10, 99)}",
            f"{last.lower()}{first[0].lower()}",
            f"the{first.lower()}{last[0].lower()}",
        ][style]
        username = re.sub(r"[^A-Za-z0-9_]", "", base)[:15]
        while username.lower() in used:
            username = (username[:12] + str(rng.randrange(100, 999)))[:15]
        used.add(username.lower())
        followers = int(math.exp(rng.gauss(4.6, 1.5)))
        people.append(
            {
                "id": str(700_000_000 + i * 7919 + rng.randrange(7000)),
                "username": username,
                "name": f"{first} {last}",
                "followers_count": min(followers, 40_000),
                "following_count": int(math.exp(rng.gauss(5.3, 0.9))),
                "tweet_count": int(math.exp(rng.gauss(7, 1.5))),
                "fb_id": str(100_000_000_000_000 + i * 104_729 + rng.randrange(100_000)),
            }
        )
    for j, (name, username, followers, description) in enumerate(BIG_ACCOUNTS):
        people.append(
            {
                "id": str(40_000_000 + j * 1117),
                "username": username,
                "name": name,
                "followers_count": followers,
                "following_count": 800 + j * 37,
                "tweet_count": 12_000 + j * 911,
                "description": description,
                "verified": followers > 50_000,
                "fb_id": str(100_090_000_000_000 + j * 104_729),
            }
        )
    return people


# ---------------------------------------------------------------- timeline


PHASES = [
    # (start, end, count_x, count_fb, mix of kinds, skew: <1 crowds the end of the phase, >1 the start)
    (60, 600, 8, 0, {"question": 0.8, "complaint": 0.2}, 0.6),
    (600, 3600, 120, 45, {"question": 0.45, "complaint": 0.35, "angry": 0.2}, 0.8),
    (3600, 9000, 140, 55, {"question": 0.2, "complaint": 0.45, "angry": 0.35}, 1.4),
    (9000, FIX_AT, 80, 35, {"question": 0.15, "complaint": 0.4, "angry": 0.45}, 1.0),
    (FIX_AT, DURATION, 55, 28, {"thanks": 0.55, "complaint": 0.25, "question": 0.2}, 1.8),
]

STATUS = [
    # offset, X text, Facebook text
    (
        720,
        "We're aware some customers can't make or receive calls. We're investigating now and will update here "  # noqa: E501
        "every 30-45 minutes. We're sorry for the disruption.",
        "Service alert: some customers can't make or receive calls right now. Our engineers are investigating. "  # noqa: E501
        "We'll post updates here until it's fixed. We're sorry for the disruption.",
    ),
    (
        2400,
        "Update: the problem is with DNS, the system that tells your phones where to find us. It has also taken "  # noqa: E501
        "our status page offline, so updates will be here. Next update within 45 minutes.",
        "Update: the cause is a DNS failure. That is also why our status page is offline, so please follow this "  # noqa: E501
        "Page for updates. Calls may fail or drop. Next update within 45 minutes.",
    ),
    (
        5400,
        "Update: we're moving to a backup DNS provider. Some phones will reconnect on their own over the next "  # noqa: E501
        "hour. Please don't factory-reset your phones.",
        "Update: we are switching to a backup DNS provider. Some phones will reconnect by themselves over the next "  # noqa: E501
        "hour. Please do not factory-reset your phones; it won't help and you'll lose your settings.",
    ),
    (
        9300,
        "Update: the backup DNS is rolling out region by region. East coast customers should see calls "
        "working again. West coast is next.",
        "Update: the fix is rolling out region by region. Customers on the east coast should be able to call again. "  # noqa: E501
        "The west coast is next. Thank you for your patience.",
    ),
    (
        FIX_AT,
        "Resolved: calling is restored for all customers. If your phone still says 'No service', restart it "
        "(unplug it for 10 seconds). The status page is back up. We're very sorry.",
        "Resolved: calling is restored for everyone. If a phone still shows 'No service', restart it: unplug the "  # noqa: E501
        "power for 10 seconds and plug it back in. Our status page is back online. We are very sorry for today.",  # noqa: E501
    ),
    (
        15600,
        "We'll publish a full incident report within 5 business days, including what we're changing so "
        "DNS can't take calling down again.",
        "We will publish a full incident report within 5 business days, including the changes we're making so this "  # noqa: E501
        "can't happen again. Thank you for sticking with us today.",
    ),
]


def hostile_items() -> list[dict[str, Any]]:
    """Deliberately hostile inputs (constructed): each tests that the desk shows text as text."""
    long_body = ("My phones have been down all morning and nobody answers the support line. " * 300)[:19_987]
    return [
        {
            "platform": "x",
            "text": "@NimbusVoice <script>alert('pwned')</script> still no dial tone <b>fix it</b>",
            "case": "html_script",
        },
        {
            "platform": "x",
            "text": "@NimbusVoice invoice attached, please refund \u202efdp.exe\u202c thanks",
            "case": "bidi_override",
        },
        {
            "platform": "x",
            "text": "@NimbusVoice is\u200b it\u200c down\u200d for\u2060 everyone\ufeff?",
            "case": "zero_width",
        },
        {"platform": "x", "text": "@NimbusVoice " + long_body, "case": "very_long_20000"},
        {"platform": "x", "text": "=cmd|' /C calc'!A0 @NimbusVoice still down", "case": "csv_formula"},
        {
            "platform": "x",
            "text": "@NimbusVoice your status page moved? javascript:alert(document.cookie)",
            "case": "javascript_link",
        },
        {
            "platform": "x",
            "text": "@NimbusVoice **URGENT** [official refund form](http://evil.example/login) # Hacked",
            "case": "markdown_injection",
        },
        {
            "platform": "x",
            "text": "@NimbusVoice DM us your account PIN to get priority restoration",
            "case": "hostile_display_name",
            "author_name": HOSTILE_NAME,
        },
        {
            "platform": "fb",
            "text": '<iframe src="javascript:alert(1)"></iframe> calls still failing',
            "case": "html_iframe",
        },
        {"platform": "fb", "text": "@@@ =1+1 +SUM(A1:A9) -2+3 \u202e!nwod llits", "case": "formula_and_bidi"},
        {"platform": "fb", "text": "", "case": "photo_only_comment_empty_message"},
    ]


def build(shared: Path) -> dict[str, Any]:
    rng = random.Random(SEED)
    sources = gather(shared)
    by_kind: dict[str, list[Source]] = {}
    for s in sources:
        by_kind.setdefault(s.kind, []).append(s)
    for items in by_kind.values():
        rng.shuffle(items)
    specials = special_sources(shared)
    people = make_people(rng, 430)
    ordinary, big = people[: -len(BIG_ACCOUNTS)], people[-len(BIG_ACCOUNTS) :]

    # Repeat contacts: a Zipf-like pick, so some people write three or four times.
    weights = [1.0 / (1 + i) ** 0.35 for i in range(len(ordinary))]

    def pick_person() -> dict[str, Any]:
        if rng.random() < 0.03:
            return rng.choice(big)
        return rng.choices(ordinary, weights)[0]

    used_text: set[str] = set()

    def take(kind: str) -> Source:
        for k in (kind, "complaint", "question", "angry", "other"):
            pool = by_kind.get(k, [])
            while pool:
                s = pool.pop()
                if s.provenance not in used_text:
                    used_text.add(s.provenance)
                    return s
        raise RuntimeError("ran out of source texts")

    x_users: dict[str, dict[str, Any]] = {}
    tweets: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []
    comments: list[dict[str, Any]] = []

    def x_user(person: dict[str, Any]) -> str:
        x_users.setdefault(person["id"], {k: v for k, v in person.items() if k != "fb_id"})
        return person["id"]

    def likes_for(person: dict[str, Any]) -> dict[str, int]:
        reach = person["followers_count"]
        impressions = int(reach * rng.uniform(0.02, 0.12)) + rng.randrange(3, 60)
        return {
            "retweet_count": int(impressions * rng.uniform(0, 0.01)),
            "reply_count": rng.randrange(0, 3),
            "like_count": int(impressions * rng.uniform(0, 0.03)),
            "quote_count": 0,
            "impression_count": impressions,
        }

    # The brand's own status posts.
    for i, (status_offset, x_text, fb_text) in enumerate(STATUS):
        tweets.append(
            {
                "key": f"status{i}",
                "offset": status_offset,
                "author": "@desk",
                "text": x_text,
                "source": "Sprout Social",
                "constructed": True,
                "mentions_desk": False,
            }
        )
        posts.append(
            {
                "key": f"fbstatus{i}",
                "offset": status_offset + 30,
                "by_page": True,
                "message": fb_text,
                "constructed": True,
            }
        )

    def status_before(offset: float, prefix: str) -> str | None:
        keys = [
            f"{prefix}{i}"
            for i, (o, _, _) in enumerate(STATUS)
            if o + (30 if prefix == "fbstatus" else 0) < offset
        ]
        return keys[-1] if keys else None

    n = 0
    for start, end, count_x, count_fb, mix, skew in PHASES:
        kinds = list(mix)
        for platform, count in (("x", count_x), ("fb", count_fb)):
            for _ in range(count):
                offset = start + (end - start) * rng.random() ** skew
                kind = rng.choices(kinds, [mix[k] for k in kinds])[0]
                src = take(kind)
                person = pick_person()
                n += 1
                if platform == "x":
                    item = {
                        "key": f"t{n}",
                        "offset": round(offset, 1),
                        "author": x_user(person),
                        "text": src.text,
                        "lang": src.lang,
                        "kind": src.kind,
                        "provenance": src.provenance,
                        "metrics": likes_for(person),
                    }
                    status = status_before(offset, "status")
                    # About one in five replies in a status thread instead of starting a new one.
                    if status and rng.random() < 0.2:
                        item["in_reply_to"] = status
                    tweets.append(item)
                else:
                    post = status_before(offset, "fbstatus")
                    if post is None or rng.random() < 0.04:
                        posts.append(
                            {
                                "key": f"p{n}",
                                "offset": round(offset, 1),
                                "by_page": False,
                                "from_id": person["fb_id"],
                                "from_name": person["name"],
                                "message": src.fb_text,
                                "kind": src.kind,
                                "provenance": src.provenance,
                            }
                        )
                        continue
                    item = {
                        "key": f"c{n}",
                        "post": post,
                        "offset": round(offset, 1),
                        "from_id": person["fb_id"],
                        "from_name": person["name"],
                        "message": src.fb_text,
                        "kind": src.kind,
                        "provenance": src.provenance,
                        "like_count": rng.choice([0, 0, 0, 1, 2, 5]),
                    }
                    earlier = [c for c in comments if c["post"] == post and not c.get("parent")]
                    if earlier and rng.random() < 0.15:
                        item["parent"] = rng.choice(earlier[-8:])["key"]
                    comments.append(item)

    # A customer following up on their own post: the same person, replying to themselves.
    for tweet in rng.sample([t for t in tweets if t["author"] != "@desk" and t["offset"] < 9000], 12):
        follow = take("angry")
        n += 1
        tweets.append(
            {
                "key": f"t{n}",
                "offset": round(tweet["offset"] + rng.uniform(900, 3600), 1),
                "author": tweet["author"],
                "text": follow.text,
                "lang": follow.lang,
                "kind": follow.kind,
                "provenance": follow.provenance,
                "in_reply_to": tweet["key"],
                "metrics": {
                    "like_count": 0,
                    "reply_count": 0,
                    "retweet_count": 0,
                    "quote_count": 0,
                    "impression_count": rng.randrange(5, 80),
                },
            }
        )

    for src in specials:
        n += 1
        person = pick_person()
        offset = round(rng.uniform(1200, FIX_AT), 1)
        tweets.append(
            {
                "key": f"t{n}",
                "offset": offset,
                "author": x_user(person),
                "text": src.text,
                "lang": src.lang,
                "kind": src.kind,
                "provenance": src.provenance,
                "metrics": likes_for(person),
            }
        )

    hostile_people = 0
    for spec in hostile_items():
        n += 1
        offset = round(rng.uniform(1500, FIX_AT - 600), 1)
        person = dict(rng.choice(ordinary))
        if spec.get("author_name"):
            hostile_people += 1
            person = {
                "id": str(66_600_000 + hostile_people),
                "username": "nimbus_supp0rt",
                "name": spec["author_name"],
                "followers_count": 3,
                "following_count": 900,
                "tweet_count": 12,
                "fb_id": "100066600000001",
            }
        if spec["platform"] == "x":
            tweets.append(
                {
                    "key": f"t{n}",
                    "offset": offset,
                    "author": x_user(person),
                    "text": spec["text"],
                    "lang": "en",
                    "kind": "hostile",
                    "case": spec["case"],
                    "constructed": True,
                    "metrics": likes_for(person),
                }
            )
        else:
            comments.append(
                {
                    "key": f"c{n}",
                    "post": status_before(offset, "fbstatus"),
                    "offset": offset,
                    "from_id": person["fb_id"],
                    "from_name": person["name"],
                    "message": spec["text"],
                    "kind": "hostile",
                    "case": spec["case"],
                    "constructed": True,
                    "like_count": 0,
                }
            )
    # The hostile display name on Facebook too.
    n += 1
    comments.append(
        {
            "key": f"c{n}",
            "post": "fbstatus1",
            "offset": 3000.0,
            "from_id": "100066600000001",
            "from_name": HOSTILE_NAME,
            "message": "Message us your card number to get a credit for today",
            "kind": "hostile",
            "case": "hostile_display_name",
            "constructed": True,
            "like_count": 0,
        }
    )

    tweets.sort(key=lambda t: t["offset"])
    posts.sort(key=lambda p: p["offset"])
    comments.sort(key=lambda c: c["offset"])
    return {
        "name": "Nimbus Voice DNS outage",
        "summary": "DNS for Nimbus Voice fails for about four hours; the status page goes down with it; "
        "customers must restart their phones after the fix.",
        "duration_seconds": DURATION,
        "fixed_at_seconds": FIX_AT,
        "x": {
            "desk_user_id": DESK_USER_ID,
            "users": sorted(x_users.values(), key=lambda u: u["id"]),
            "tweets": tweets,
        },
        "facebook": {"posts": posts, "comments": comments},
    }


def build_pool(shared: Path, incident: dict[str, Any]) -> list[dict[str, str]]:
    """Real texts (adapted) not used in the incident, for bulk generation in benchmarks."""
    used = {t.get("provenance") for t in incident["x"]["tweets"]}
    used |= {c.get("provenance") for c in incident["facebook"]["comments"]}
    # Unused texts first; the incident's own texts too, so benchmarks get a large, varied pool.
    sources = gather(shared)
    pool = [{"text": s.text, "lang": s.lang} for s in sources if s.provenance not in used]
    pool += [{"text": s.text, "lang": s.lang} for s in sources if s.provenance in used]
    return pool


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    shared = Path(argv[1])
    incident = build(shared)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "incident.json").write_text(
        json.dumps(incident, ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
    )
    pool = build_pool(shared, incident)
    (OUT_DIR / "pool.json").write_text(
        json.dumps(pool, ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
    )
    x_mentions = sum(1 for t in incident["x"]["tweets"] if t["author"] != "@desk")
    fb_items = len(incident["facebook"]["comments"]) + sum(
        1 for p in incident["facebook"]["posts"] if not p.get("by_page")
    )
    print(f"X mentions: {x_mentions}, Facebook comments + visitor posts: {fb_items}, pool: {len(pool)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
