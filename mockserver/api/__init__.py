"""The request side: the route table, admission, parsing, the API's handlers, the admin API and its document."""
