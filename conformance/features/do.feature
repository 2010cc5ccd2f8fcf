Feature: Do Task
  As an implementer of the workflow DSL
  I want to ensure that do tasks run their subtasks in sequence
  So that my implementation conforms to the expected behavior

  # The output of a do task is its last subtask's output.
  Scenario: Do task output is the last subtask's output
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: do-output, version: '1.0.0'}
    do:
      - group:
          do:
            - one:
                set:
                  value: 1
            - two:
                set:
                  value: ${ .value + 1 }
      - after:
          set:
            received: ${ .value }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    received: 2
    """
    And group should complete with output:
    """yaml
    value: 2
    """
    And one should run after group
    And two should run after one
    And after should run last

  # The do task's own input.from and output.as wrap its list.
  Scenario: Do task with its own data flow
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: do-data-flow, version: '1.0.0'}
    do:
      - group:
          input:
            from: .numbers
          do:
            - total:
                set:
                  sum: ${ add }
          output:
            as:
              sum: ${ .sum }
              count: ${ $input | length }
    """
    And given the workflow input is:
    """yaml
    numbers: [ 1, 2, 3 ]
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    sum: 6
    count: 3
    """

  # A fault in a subtask faults the do task and the workflow.
  Scenario: Do task faults when a subtask faults
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: do-fault, version: '1.0.0'}
    do:
      - group:
          do:
            - ok:
                set:
                  fine: true
            - broken:
                raise:
                  error:
                    type: https://example.com/errors/broken
                    status: 500
            - never:
                set:
                  reached: true
      - after:
          set:
            reached: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/broken
    status: 500
    instance: /do/0/group/do/1/broken
    """
    And ok should complete
    And broken should fault
    And group should fault
    And broken should run last

  # The context exported inside a do task is visible after it.
  Scenario: Context exported inside a do task
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: do-context, version: '1.0.0'}
    do:
      - group:
          do:
            - remember:
                set:
                  token: inner
                export:
                  as: .
      - after:
          set:
            token: ${ $context.token }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    token: inner
    """
