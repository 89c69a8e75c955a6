"""Mosquitto's accounts and ACL from the registry: a device may only speak for itself.

passwords.py writes the password file in mosquitto_passwd's format, acl.py the ACL,
accounts.py issues, revokes and prunes credentials and reloads the broker; cli.py is
`pletfri broker ...`. docs/broker.md explains the whole.
"""
