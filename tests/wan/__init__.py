"""A consortium across Linux network namespaces with WAN latency (issue 20, part 4)."""
