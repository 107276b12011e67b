"""Ray plumbing: stage actors that hold heavy state and call pipeline/ functions, and the driver."""
