"""The operator's console (/console): the programme run from a browser, each action the API's own."""
