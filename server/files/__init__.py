"""Images and files (issue 12): blob stores, the upload spool, type sniffing, images.

Nothing here touches the database: :mod:`server.storage.files` holds the SQL and
:mod:`server.actions.files` the rules.
"""
