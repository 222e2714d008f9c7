"""The desk in Streamlit: ``streamlit run app.py`` (or ``python -m desk demo``). Router only."""

import streamlit as st

from desk.ui import navigation, resources, widgets

st.set_page_config(page_title="Outage Desk", page_icon=":material/support_agent:", layout="wide")
page = st.navigation(navigation.all_pages())
widgets.agent_sidebar(resources.engine())
page.run()
