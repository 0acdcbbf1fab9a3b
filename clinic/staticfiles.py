"""Static files in production: hashed names, compressed, and module imports hashed too."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed files under hashed names, cached for ever by browsers.

    Django leaves `import … from "./part.js"` in JavaScript modules alone unless asked;
    rewritten to the hashed names, a page never runs a new planner module (static/js/planner/)
    beside an old one still in a cache.
    """

    support_js_module_import_aggregation = True
