# Packaged as `seqforge.presets` (see pyproject.toml) so installed seqforge finds these configs.
