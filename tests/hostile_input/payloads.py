"""What the hostile-input suite sends."""

# -- what is sent ---------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG_ONERROR = "<img src=x onerror=alert(1)>"
FILE_URL = "file:///etc/passwd"
METADATA_URL = "http://169.254.169.254/"
SQL = "'; DROP TABLE consultations_patient; --"
LONG = "x" * 10_000
NUL = "a\x00b"
HUGE = str(10**30)
NEGATIVE = "-1"
OVERFLOW_FLOAT = "1e309"
WORDS = "abc"

# Printed-document payloads: each would fetch something if it were parsed as markup.
PDF_IMG = '<img src="file:///etc/passwd">'
PDF_LINK = '<link rel=stylesheet href="http://attacker.example/x.css">'
PDF_STYLE = "<style>@import url(http://x)</style>"
PDF_PAYLOADS = (PDF_IMG, PDF_LINK, PDF_STYLE)

# Text that a free-text field may legitimately store as typed (it must then show escaped).
ACCEPTABLE_TEXT = {
    "script": SCRIPT,
    "img-onerror": IMG_ONERROR,
    "file-url": FILE_URL,
    "metadata-url": METADATA_URL,
    "sql": SQL,
}
# Raw markup that must never reach a page unescaped.
RAW_MARKUP = (SCRIPT, IMG_ONERROR, *PDF_PAYLOADS)
