"""Team sharing: a hub (teams, members, shared skills, shared cubes), a member, replication, discovery."""
