"""Hostile input: every form and JSON endpoint answers bad input clearly and saves nothing.

The design brief: "Bad input gets a clear error and changes nothing" and
"Printed documents are safe". For every endpoint in the table
(`endpoints.ENDPOINTS`, one row each: URL name, method, who sends it, how valid
data is built, which fields it reads) the harness (`harness`) sends a generated
set of bad inputs per field: wrong types, missing fields, 10 000-character
strings, huge and negative numbers, HTML and script, file:// and cloud-metadata
URLs, SQL-looking text, NUL bytes, invalid UTF-8 and lists where a scalar goes
(`payloads`). Each answer must be

- never a 5xx;
- either a success (text a free-text field legitimately stores as typed) or a
  refusal with a clear message: the page re-rendered with a field error
  (`is-invalid`, an error list or an alert), a redirect carrying an error
  message, or JSON `{"error": "..."}`; input a field cannot hold (a date that
  is not a date, an over-long text, a NUL byte) must be refused;
- and a refusal changes nothing: every table the request wrote to has the same
  row count and content as before (`snapshot`);
- and no redirect leaves the site, whatever `next` says.

Free-text fields get the markup, URLs and SQL all at once (they may store
them: the pages must then escape them) and, one field at a time, what they
cannot hold; every other field gets every bad value one at a time. Each request
runs in a savepoint that is rolled back, so cases never see each other's effects.

The tests, by kind: bad input per endpoint (test_bad_input), uploads that are
not photos (test_uploads), any text at all in the two highest-value endpoints
(test_any_input), accepted hostile text shown escaped (test_escaping), printed
documents that print hostile text as text and fetch nothing
(test_printed_documents), body size limits, content types, methods and CSRF
(test_request_limits), and a table that covers every URL (test_url_coverage).
"""
