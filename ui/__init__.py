"""Streamlit UI: `ui/app.py` routes with st.navigation; pages are short scripts over the services."""
