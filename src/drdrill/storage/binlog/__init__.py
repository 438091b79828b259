"""The gap-free binlog archive of one target: each closed binlog file zstd-compressed in the store, with an index entry.

Layout, per server identity (every server names its files ``mysql-bin.NNNNNN``)::

    <prefix>/<target>/binlog/<server_key>/<file>.zst           the raw binlog file, compressed
    <prefix>/<target>/binlog/<server_key>/index/<file>.json    its index entry, written after the object
    <prefix>/<target>/binlog/<server_key>/forks/<file>.json    a fork record: the history restarts at <file>

An object without its index entry does not count (a killed run); the next run archives the file again.

``names`` (file names, server keys), ``layout`` (key names), ``index`` (the index entry format and reading
it), ``fork`` (the fork record), ``decode`` (what a binlog file holds), ``archive`` (uploading and fetching),
``chain`` (the gap check), ``window`` (how far PITR can reach), ``streamer`` (the supervised ``mariadb-binlog``
stream). GTID positions are the servers' own vocabulary: ``drdrill.servers.gtid``.
"""
