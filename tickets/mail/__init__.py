"""The email channel's building blocks: parse, quoting, threading tokens and safe headers.

Pure modules: none of them writes to the database. Intake and sending call them and then one
service each.
"""
