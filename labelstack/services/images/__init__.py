"""Images: import into the store, the index (search, sync), who may view a series, and viewing it.

`runtime` holds the settings, the volume cache and the stores; every other module reads them there."""
