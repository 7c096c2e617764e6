"""Data quality: a clean-up report of the contacts (invalid email addresses and phone numbers,
contacts with no way to reach them, stale records, doubtful or incomplete names), made by
`flask crm data-quality` or the "Run the check now" button and shown on the Data quality page."""
