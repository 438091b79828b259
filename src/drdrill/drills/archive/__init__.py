"""The binlog archive drill kind: archiving closed binlogs on a schedule and streaming them continuously."""
