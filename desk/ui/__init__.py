"""The desk's Streamlit pages: the only package importing streamlit; pages are thin views over services."""
