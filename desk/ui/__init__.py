"""The desk's Streamlit pages. The only package that imports streamlit; every page is a thin view over desk services."""
