"""The customer's own side of the relationship: a signed link per person
(no login) to see and change consent and the preferred channel, and to ask
for an export or the erasure of their data. The requests are kept here
until the people who handle them (and the relationships service) act."""
