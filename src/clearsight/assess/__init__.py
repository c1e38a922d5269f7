"""The four pure steps of the assessment and the pipeline that chains them."""
