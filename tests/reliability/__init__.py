"""Reliability campaign: faults under load, nothing lost, nobody duplicated (issue 9).

The campaign library lives here (``_cluster``, ``_load``, ``_audit``, ``_faults``,
``_campaign``); the tests run its short version and ``tools/campaign.py`` its long one.
"""
