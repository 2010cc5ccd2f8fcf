Feature: Data Flow (pending: engine bugs)
  As an implementer of the workflow DSL
  I want to ensure that inputs, outputs, the context and their schemas flow as the DSL describes
  So that my implementation conforms to the expected behavior

  # BUG (by the spec's data flow diagram). dsl.md, Data Flow, the flowchart:
  # "workflow_transformed_input -- Set as --> initial_context_arg" ($context), i.e. the
  # transformed workflow input is the initial context. The prose of the section does not repeat
  # it. nagare starts every instance with an empty context ({}).
  Scenario: The initial context is the transformed workflow input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-initial-context, version: '1.0.0'}
    input:
      from: .order
    do:
      - look:
          set:
            context: ${ $context }
    """
    And given the workflow input is:
    """yaml
    order:
      id: 7
    meta: dropped
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    context:
      id: 7
    """
