Feature: Wait Task
  As an implementer of the workflow DSL
  I want to ensure that wait tasks pause for the duration they define, in every form
  So that my implementation conforms to the expected behavior

  # Each scenario stamps the start of the wait in the context, then checks the elapsed time
  # from the start of the next task.

  # A duration of units; the wait's output is its input.
  Scenario: Wait for an inline duration
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: wait-inline, version: '1.0.0'}
    do:
      - stamp:
          set: ${ . }
          export:
            as: '${ { t0: $task.startedAt.epoch.milliseconds } }'
      - pause:
          wait:
            milliseconds: 30
      - check:
          set:
            data: ${ . }
            waited: ${ ($task.startedAt.epoch.milliseconds - $context.t0) >= 30 }
    """
    And given the workflow input is:
    """yaml
    kept: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    data:
      kept: true
    waited: true
    """
    And pause should complete with output:
    """yaml
    kept: true
    """
    And check should run after pause

  # Several units add up.
  Scenario: Wait for a duration of several units
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: wait-units, version: '1.0.0'}
    do:
      - stamp:
          set: ${ . }
          export:
            as: '${ { t0: $task.startedAt.epoch.milliseconds } }'
      - pause:
          wait:
            seconds: 0
            milliseconds: 25
      - check:
          set:
            waited: ${ ($task.startedAt.epoch.milliseconds - $context.t0) >= 25 }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    waited: true
    """

  # An ISO 8601 duration, with fractional seconds.
  Scenario: Wait for an ISO 8601 duration
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: wait-iso, version: '1.0.0'}
    do:
      - stamp:
          set: ${ . }
          export:
            as: '${ { t0: $task.startedAt.epoch.milliseconds } }'
      - pause:
          wait: PT0.03S
      - check:
          set:
            waited: ${ ($task.startedAt.epoch.milliseconds - $context.t0) >= 30 }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    waited: true
    """

  # A runtime expression evaluated to an ISO 8601 duration.
  Scenario: Wait for a duration computed by an expression
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: wait-expression, version: '1.0.0'}
    do:
      - stamp:
          set: ${ . }
          export:
            as: '${ { t0: $task.startedAt.epoch.milliseconds } }'
      - pause:
          wait: ${ "PT0.0\(.tens)S" }
      - check:
          set:
            waited: ${ ($task.startedAt.epoch.milliseconds - $context.t0) >= 20 }
    """
    And given the workflow input is:
    """yaml
    tens: 2
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    waited: true
    """

  # A zero duration does not block.
  Scenario: Wait for a zero duration
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: wait-zero, version: '1.0.0'}
    do:
      - pause:
          wait: PT0S
      - after:
          set:
            done: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    done: true
    """
    And pause should complete

  # An expression that does not give a duration is an expression error at the wait task.
  Scenario: Wait for an expression that is not a duration
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: wait-bad-expression, version: '1.0.0'}
    do:
      - pause:
          wait: ${ .delay }
    """
    And given the workflow input is:
    """yaml
    delay: soon
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
    status: 400
    instance: /do/0/pause
    """

  # Waits in sequence add up.
  Scenario: Consecutive waits
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: wait-sequence, version: '1.0.0'}
    do:
      - stamp:
          set: ${ . }
          export:
            as: '${ { t0: $task.startedAt.epoch.milliseconds } }'
      - first:
          wait:
            milliseconds: 15
      - second:
          wait: PT0.015S
      - check:
          set:
            waited: ${ ($task.startedAt.epoch.milliseconds - $context.t0) >= 30 }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    waited: true
    """
    And second should run after first
