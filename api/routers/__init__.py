"""One router per resource; each validates, calls one service function, and returns its view."""
