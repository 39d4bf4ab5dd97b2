"""Screen recordings judged as launches: reading (``decode``), walking frame by frame (``walk``), the
live check's verdicts over them (``judge``), the report (``report``)."""
