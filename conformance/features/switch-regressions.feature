Feature: Switch Task (regressions)
  As an implementer of the workflow DSL
  I want to ensure that switch tasks pick the right path
  So that my implementation conforms to the expected behavior

  # Regression (fixed). dsl-reference.md, Switch Case, `when`: "If not set, the case will be matched by default
  # if no other case match." A default case declared before a matching case must not win.
  # nagare takes the first case whose `when` holds *or that has none*, so it routes to onDefault.
  Scenario: Switch default case declared first only matches when no other case does
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: switch-default-first, version: '1.0.0'}
    do:
      - pick:
          switch:
            - fallback:
                then: onDefault
            - red:
                when: .color == "red"
                then: onRed
      - onDefault:
          set:
            picked: default
          then: end
      - onRed:
          set:
            picked: red
    """
    And given the workflow input is:
    """yaml
    color: red
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    picked: red
    """
    And onRed should run last
