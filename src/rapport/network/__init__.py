"""Network: the customers' own conversation graph (ties, communities,
influence, brokers, advocates and detractors, peer helpers, knowledge flows)
and the analysis of any external edge list."""
