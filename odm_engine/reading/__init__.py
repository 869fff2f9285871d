"""The loader's parts, one job each; ``odm_engine.loader`` assembles them into ``load_odm``.

- ``elements``: matching ODM elements by local name in the file's namespace, and the line,
  vendor attributes and vendor children every model node carries;
- ``namespaces``: the namespaces the loader knows (Define-XML, ARM, vendors) and the
  findings about the rest;
- ``metadata``: Study, BasicDefinitions and MetaDataVersion definitions, with Include merged;
- ``admin``: AdminData (users, locations, signature definitions);
- ``clinical_refs``: the OID references ClinicalData makes, for the reference rules.
"""
