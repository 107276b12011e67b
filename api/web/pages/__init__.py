"""One router per page of the UI; each validates its query, calls the services and renders one template."""
