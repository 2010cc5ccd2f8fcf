Feature: Fork Task
  As an implementer of the workflow DSL
  I want to ensure that fork tasks run their branches concurrently
  So that my implementation conforms to the expected behavior

  # Without compete, the output is the array of the branch outputs in declaration order,
  # whatever order the branches end in.
  Scenario: Fork without compete outputs the branch outputs in declaration order
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-join-order, version: '1.0.0'}
    do:
      - parallel:
          fork:
            branches:
              - slow:
                  do:
                    - pause:
                        wait:
                          milliseconds: 40
                    - slowResult:
                        set:
                          branch: slow
              - fast:
                  set:
                    branch: fast
              - medium:
                  do:
                    - shortPause:
                        wait:
                          milliseconds: 10
                    - mediumResult:
                        set:
                          branch: medium
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    - branch: slow
    - branch: fast
    - branch: medium
    """
    And parallel should complete
    And slow should complete
    And fast should complete
    And medium should complete
    And parallel should run first

  # Every branch receives the fork task's input.
  Scenario: Fork branches all receive the fork input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-input, version: '1.0.0'}
    do:
      - parallel:
          fork:
            branches:
              - double:
                  set: ${ .n * 2 }
              - square:
                  set: ${ .n * .n }
              - same:
                  set: ${ . }
    """
    And given the workflow input is:
    """yaml
    n: 3
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    [ 6, 9, { n: 3 } ]
    """

  # The branches really run at the same time: two 250 ms waits fit in a 400 ms timeout (one
  # after the other they would take 500 ms; the slack absorbs a loaded 2-core CI machine).
  Scenario: Fork branches run concurrently
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-concurrent, version: '1.0.0'}
    do:
      - parallel:
          timeout:
            after:
              milliseconds: 400
          fork:
            branches:
              - one:
                  wait:
                    milliseconds: 250
              - two:
                  wait:
                    milliseconds: 250
    """
    And given the workflow input is:
    """yaml
    x: 1
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    [ { x: 1 }, { x: 1 } ]
    """

  # A fork's output can be reshaped by its output.as, e.g. merged into one object.
  Scenario: Fork output merged by output.as
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-merge, version: '1.0.0'}
    do:
      - parallel:
          fork:
            branches:
              - setA:
                  set:
                    a: 1
              - setB:
                  set:
                    b: 2
          output:
            as: ${ add }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    a: 1
    b: 2
    """

  # With compete, the first branch to complete wins; its output is the fork's output and the
  # other branches are cancelled.
  Scenario: Fork with compete outputs the winner and cancels the losers
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-compete, version: '1.0.0'}
    do:
      - race:
          fork:
            compete: true
            branches:
              - tortoise:
                  do:
                    - crawl:
                        wait:
                          milliseconds: 500
                    - tortoiseArrives:
                        set:
                          winner: tortoise
              - hare:
                  do:
                    - sprint:
                        wait:
                          milliseconds: 5
                    - hareArrives:
                        set:
                          winner: hare
      - after:
          set:
            winner: ${ .winner }
            checked: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    winner: hare
    checked: true
    """
    And race should complete with output:
    """yaml
    winner: hare
    """
    And hare should complete
    And tortoise should cancel
    And crawl should cancel
    And after should run last

  # nagare's reading: a branch that faults does not win the race; the first branch to complete
  # does.
  Scenario: Fork with compete ignores a branch that faults when another completes
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-compete-fault, version: '1.0.0'}
    do:
      - race:
          fork:
            compete: true
            branches:
              - failing:
                  raise:
                    error:
                      type: https://example.com/errors/lost
                      status: 500
              - steady:
                  do:
                    - pause:
                        wait:
                          milliseconds: 10
                    - finish:
                        set:
                          winner: steady
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    winner: steady
    """
    And failing should fault
    And steady should complete

  # When every competing branch faults, the fork faults with the first fault in declaration
  # order.
  Scenario: Fork with compete where every branch faults
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-compete-all-fault, version: '1.0.0'}
    do:
      - race:
          fork:
            compete: true
            branches:
              - first:
                  do:
                    - pause:
                        wait:
                          milliseconds: 10
                    - failLate:
                        raise:
                          error:
                            type: https://example.com/errors/first
                            status: 500
              - second:
                  raise:
                    error:
                      type: https://example.com/errors/second
                      status: 501
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/first
    status: 500
    instance: /do/0/race/fork/branches/0/first/do/1/failLate
    """
    And race should fault

  # Without compete, a branch fault faults the fork and cancels the branches still running.
  Scenario: Fork without compete faults when a branch faults
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-join-fault, version: '1.0.0'}
    do:
      - parallel:
          fork:
            branches:
              - slow:
                  wait:
                    milliseconds: 500
              - broken:
                  raise:
                    error:
                      type: https://example.com/errors/broken
                      status: 503
                      title: Broken Branch
      - after:
          set:
            unreachable: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/broken
    status: 503
    title: Broken Branch
    instance: /do/0/parallel/fork/branches/1/broken
    """
    And broken should fault
    And slow should cancel
    And parallel should fault
    And broken should run last

  # A branch fault can be caught around the fork.
  Scenario: Fork fault caught by an enclosing try
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-caught, version: '1.0.0'}
    do:
      - guarded:
          try:
            - parallel:
                fork:
                  branches:
                    - ok:
                        set:
                          fine: true
                    - broken:
                        raise:
                          error:
                            type: https://example.com/errors/broken
                            status: 500
          catch:
            errors:
              with:
                type: https://example.com/errors/broken
            do:
              - recover:
                  set:
                    recovered: ${ $error.instance }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    recovered: /do/0/guarded/try/0/parallel/fork/branches/1/broken
    """

  # Each branch is a full task: its own input.from and output.as apply.
  Scenario: Fork branches with their own data flow
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-branch-data, version: '1.0.0'}
    do:
      - parallel:
          fork:
            branches:
              - left:
                  input:
                    from: .left
                  set:
                    value: ${ . * 10 }
                  output:
                    as: .value
              - right:
                  input:
                    from: .right
                  set:
                    value: ${ . + 1 }
                  output:
                    as: .value
    """
    And given the workflow input is:
    """yaml
    left: 4
    right: 4
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    [ 40, 5 ]
    """

  # A fork with a single branch outputs a one-item array.
  Scenario: Fork with a single branch
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-single, version: '1.0.0'}
    do:
      - parallel:
          fork:
            branches:
              - only:
                  set:
                    only: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    [ { only: true } ]
    """

  # With compete, the fork's output is the winner's output alone, not an array.
  Scenario: Fork with compete and a single fast branch among slow ones
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-compete-three, version: '1.0.0'}
    do:
      - race:
          fork:
            compete: true
            branches:
              - a:
                  wait:
                    milliseconds: 400
              - b:
                  do:
                    - brief:
                        wait:
                          milliseconds: 5
                    - answer:
                        set: ${ "b" }
              - c:
                  wait:
                    milliseconds: 400
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    b
    """
    And a should cancel
    And c should cancel
    And b should complete with output:
    """yaml
    b
    """

  # A skipped branch (if false) contributes its raw input to the array.
  Scenario: Fork with a skipped branch
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: fork-skipped-branch, version: '1.0.0'}
    do:
      - parallel:
          fork:
            branches:
              - runs:
                  set:
                    ran: true
              - skipped:
                  if: .never
                  set:
                    ran: true
    """
    And given the workflow input is:
    """yaml
    never: false
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    - ran: true
    - never: false
    """
