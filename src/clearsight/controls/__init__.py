"""Controls Clearsight ships itself: each closes gaps it reports, and reports its use as Evidence."""
