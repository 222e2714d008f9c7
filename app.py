"""The desk in Streamlit: ``streamlit run app.py`` (or ``python -m desk demo``). Router only."""

import streamlit as st

from desk.ui import navigation

st.set_page_config(page_title="Outage Desk", page_icon=":material/support_agent:", layout="wide")
navigation.frame(st.navigation(navigation.all_pages()))
