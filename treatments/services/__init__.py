"""The treatments' services, one module per subdomain: plans, stock, consent,
sessions and outcomes. Each is a set of typed, keyword-only functions, one
transaction each, audited; views, admin and commands call them alike.
"""
