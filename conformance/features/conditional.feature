Feature: Conditional Tasks
  As an implementer of the workflow DSL
  I want to ensure that a task's if decides whether it runs
  So that my implementation conforms to the expected behavior

  # dsl-reference.md, Task, `if`: "The task is considered skipped if not run, and the *raw*
  # task input becomes the task's output."

  # A true condition runs the task.
  Scenario: Task runs when its condition holds
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: if-true, version: '1.0.0'}
    do:
      - discount:
          if: .total > 100
          set:
            total: ${ .total * 0.9 }
    """
    And given the workflow input is:
    """yaml
    total: 200
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    total: 180
    """
    And discount should complete

  # A false condition skips the task: its output is its raw input.
  Scenario: Skipped task outputs its raw input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: if-false, version: '1.0.0'}
    do:
      - discount:
          if: ${ .total > 100 }
          set:
            total: ${ .total * 0.9 }
      - after:
          set:
            total: ${ .total }
            after: true
    """
    And given the workflow input is:
    """yaml
    total: 50
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    total: 50
    after: true
    """
    And after should run first

  # The condition is evaluated on the raw input, before input.from.
  Scenario: Condition evaluated on the raw task input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: if-raw-input, version: '1.0.0'}
    do:
      - pick:
          if: .enabled
          input:
            from: .payload
          set:
            picked: ${ .value }
    """
    And given the workflow input is:
    """yaml
    enabled: true
    payload:
      value: 7
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    picked: 7
    """

  # A skipped task's input.from, output.as and export.as are not applied.
  Scenario: Skipped task applies no transformation and exports nothing
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: if-no-transform, version: '1.0.0'}
    do:
      - skipped:
          if: .enabled
          input:
            from: .payload
          set:
            changed: true
          output:
            as: .changed
          export:
            as: '${ { exported: true } }'
      - report:
          set:
            data: ${ . }
            context: ${ $context }
    """
    And given the workflow input is:
    """yaml
    enabled: false
    payload:
      value: 1
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    data:
      enabled: false
      payload:
        value: 1
    context: {}
    """

  # A skipped composite task runs none of its subtasks.
  Scenario: Skipped composite task runs none of its subtasks
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: if-composite, version: '1.0.0'}
    do:
      - group:
          if: .run
          do:
            - inside:
                set:
                  inside: true
            - alsoInside:
                raise:
                  error:
                    type: https://example.com/errors/never
                    status: 500
      - after:
          set:
            run: ${ .run }
            after: true
    """
    And given the workflow input is:
    """yaml
    run: false
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    run: false
    after: true
    """
    And after should run first
    And after should run last

  # A skipped call makes no request: a call that would fail is harmless when skipped.
  Scenario: Skipped HTTP call makes no request
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: if-http, version: '1.0.0'}
    do:
      - failingCall:
          if: .online
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/status/500
      - after:
          set:
            offline: true
    """
    And given the workflow input is:
    """yaml
    online: false
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    offline: true
    """

  # Conditions may read the context.
  Scenario: Condition on the context
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: if-context, version: '1.0.0'}
    do:
      - configure:
          set:
            verbose: true
          export:
            as: .
      - log:
          if: $context.verbose
          set:
            logged: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    logged: true
    """
    And log should run after configure

  # Conditions in a for body see the iteration variables.
  Scenario: Condition on the iteration item
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: if-in-for, version: '1.0.0'}
    do:
      - loop:
          for:
            each: n
            in: .numbers
          do:
            - keepEven:
                if: ${ $n % 2 == 0 }
                set:
                  numbers: ${ .numbers }
                  even: ${ .even + [ $n ] }
    """
    And given the workflow input is:
    """yaml
    numbers: [ 1, 2, 3, 4 ]
    even: []
    """
    When the workflow is executed
    Then the workflow output should have a 'even' property with value:
    """yaml
    [ 2, 4 ]
    """

  # A skipped wait does not wait: it fits in a short workflow timeout.
  Scenario: Skipped wait does not wait
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: if-wait, version: '1.0.0'}
    timeout:
      after:
        milliseconds: 200
    do:
      - longPause:
          if: .patient
          wait:
            seconds: 5
      - after:
          set:
            done: true
    """
    And given the workflow input is:
    """yaml
    patient: false
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    done: true
    """

  # nagare's reading: a skipped task's then is not followed (the flow continues), since the
  # task did not run.
  Scenario: Skipped task does not follow its then directive
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: if-then, version: '1.0.0'}
    do:
      - maybeEnd:
          if: .stop
          set:
            stopped: true
          then: end
      - after:
          set:
            stopped: false
    """
    And given the workflow input is:
    """yaml
    stop: false
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    stopped: false
    """

  # A skipped last task leaves the list's output to the task before it.
  Scenario: Skipped last task of a nested list
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: if-last, version: '1.0.0'}
    do:
      - group:
          do:
            - first:
                set:
                  value: 1
            - optional:
                if: .value > 1
                set:
                  value: 100
      - after:
          set:
            value: ${ .value }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    value: 1
    """
    And group should complete with output:
    """yaml
    value: 1
    """
