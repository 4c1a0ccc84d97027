def test_dashboard_renders_for_an_agent(agent_client, ticket_a):
    response = agent_client.get("/dashboard/")
    assert response.status_code == 200
    assert b"Printer on fire" in response.content
