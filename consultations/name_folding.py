"""How names are folded for patient search, the same way for what is stored and what is typed.

The front desk types on whatever keyboard it has: "lukasiewicz" for Łukasiewicz,
"obrien" for O'Brien, "mueller" for Müller. Both sides go through these
functions, in Python, so SQLite and PostgreSQL match alike and the stored key
can carry PostgreSQL's trigram index (a plain ``LIKE '%…%'`` on one column).

Folding (``fold_name``): case folded (ß -> ss), accents dropped (Unicode
compatibility decomposition, NFKD, without its combining marks: ë -> e,
Ñ -> n, ﬁ -> fi), letters that Unicode does not decompose mapped by a table
(Ł -> l, ø -> o, æ -> ae ...), and the punctuation that joins parts of a name
(apostrophes, hyphens, full stops) removed. Every other character is kept as
it is, so ``%`` and ``_`` only ever match themselves.

German and Scandinavian names have a second, older spelling that people type
when they have no such key: Müller is also written Mueller, Møller Moeller,
Åberg Aaberg (German name lists file ä as ae, DIN 5007-1:2005, "Variante 2").
The stored key holds both spellings of such a name; a query
typed with the letter itself (müller) looks for both spellings. The query
side never rewrites "ue" to "u": "joe" would then find every John and "zoe"
every Zola.
"""

import unicodedata

# Letters NFKD leaves whole (they are letters of their own, not a letter plus
# a mark), as they are usually written without them. Keys are case folded.
PLAIN_LETTERS = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
        "ŋ": "ng",
        "ƒ": "f",
        "ə": "e",
    }
)

# Punctuation inside names that people leave out when they type: O'Brien,
# Smith-Jones, St. John. Removed, not turned into a space, so "obrien" and
# "smithjones" find them.
NAME_JOINERS = str.maketrans(
    dict.fromkeys(
        "'`´ʹʻʼʽ‘’‛′"  # apostrophes and what keyboards send for them
        "-‐‑‒–—―−﹣－"  # hyphens and dashes
        ".·",  # full stops, and the Catalan middle dot (l·l)
        None,
    )
)

# The older spellings of letters with an umlaut or ring, before accents are dropped.
TRADITIONAL_SPELLINGS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ø": "oe", "å": "aa"})


def fold_name(value: str) -> str:
    """Lower-case, accent-free text without name punctuation: "Zoë O'Brien" -> "zoe obrien"."""
    text = (value or "").casefold().translate(NAME_JOINERS)
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # NFKD can bring a joiner back (a full-width hyphen, say): remove those too.
    return plain.translate(PLAIN_LETTERS).translate(NAME_JOINERS)


def spellings(word: str) -> list[str]:
    """A name or a typed word as one folded word, then its traditional spelling if it has one.

    Spaces inside go too ("Van der Berg" -> "vanderberg"), as people type a
    compound name either way.
    """
    plain = "".join(fold_name(word).split())
    composed = unicodedata.normalize("NFC", (word or "").casefold())
    traditional = "".join(fold_name(composed.translate(TRADITIONAL_SPELLINGS)).split())
    return [plain] if traditional == plain else [plain, traditional]


def patient_search_key(*, first_name: str, last_name: str, preferred_name: str = "") -> str:
    """What patient search looks in: "zoe muller mueller" for Zoë Müller.

    Starts with the first and last name (the duplicate check relies on that),
    then the preferred name, then the traditional spellings; one space apart,
    so a typed word matches within one name or across whole names.
    """
    forms = [spellings(name) for name in (first_name, last_name, preferred_name)]
    words = [forms[0][0], forms[1][0]]
    for word in [forms[2][0]] + [other for _, *others in forms for other in others]:
        if word and word not in words:
            words.append(word)
    return " ".join(words)


def query_words(text: str) -> list[list[str]]:
    """Each typed word as the spellings to look for, any one of which may match.

    Words that fold to nothing (a lone apostrophe or hyphen) are left out.
    """
    return [forms for word in text.split() if (forms := spellings(word)) != [""]]
