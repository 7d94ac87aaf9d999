"""Reading, representing and splitting implicit feedback."""
