"""pandas string storage for the toolkit: file names that are not valid UTF-8 travel as surrogate escapes
('caf\\udce9.wav'); pandas stores str columns in Arrow when pyarrow is installed (MLflow brings it), and
Arrow cannot hold those escapes, so a TrackTable of such a folder would fail to build. Importing this
module (the `features` package does) switches pandas to Python string storage, which holds them."""

import pandas as pd

pd.set_option("mode.string_storage", "python")
