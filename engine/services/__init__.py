"""The operations every edge calls: the API, the web UI and the CLI each parse input,
call one of these and render the result. Functions take ``session`` keyword-only and
never commit; the request or command owns the transaction.
"""
