"""Evidence sources: where items come from and how each is opened again by its locator.

``base`` holds the locator, the item and the two source protocols (and says how to
add a source); ``registry`` the table of sources and detect-then-open; ``folder`` the
local disk; ``archive`` the members of archives inside any other source's items.
"""
