Feature: Flow Directives
  As an implementer of the workflow DSL
  I want to ensure that then directives drive the task flow at every depth
  So that my implementation conforms to the expected behavior

  # `then: exit` in a nested do list completes that list only; the enclosing list goes on.
  Scenario: Exit inside a nested do list leaves only that list
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-nested-exit, version: '1.0.0'}
    do:
      - outer:
          do:
            - stepOne:
                set:
                  log: ${ .log + [ "one" ] }
                then: exit
            - stepSkipped:
                set:
                  log: ${ .log + [ "skipped" ] }
      - stepTwo:
          set:
            log: ${ .log + [ "two" ] }
    """
    And given the workflow input is:
    """yaml
    log: []
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    log: [ one, two ]
    """
    And outer should complete with output:
    """yaml
    log: [ one ]
    """
    And stepTwo should run after stepOne
    And stepTwo should run last

  # `then: exit` in the top-level list completes the workflow.
  Scenario: Exit in the main do list ends the workflow
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-top-exit, version: '1.0.0'}
    do:
      - first:
          set:
            done: first
          then: exit
      - second:
          set:
            done: second
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    done: first
    """
    And first should run last

  # Only the innermost list is left by an exit two levels down.
  Scenario: Exit two levels down leaves only the innermost list
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-deep-exit, version: '1.0.0'}
    do:
      - level1:
          do:
            - level2:
                do:
                  - deepest:
                      set:
                        log: ${ .log + [ "deepest" ] }
                      then: exit
                  - deepSkipped:
                      set:
                        log: ${ .log + [ "deep-skipped" ] }
            - afterLevel2:
                set:
                  log: ${ .log + [ "after-level2" ] }
      - afterLevel1:
          set:
            log: ${ .log + [ "after-level1" ] }
    """
    And given the workflow input is:
    """yaml
    log: []
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    log: [ deepest, after-level2, after-level1 ]
    """

  # `then: end` ends the whole workflow, even from a nested list; the output is the output of
  # the task that ended it.
  Scenario: End inside a nested do list ends the workflow
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-nested-end, version: '1.0.0'}
    do:
      - outer:
          do:
            - inner:
                do:
                  - finish:
                      set:
                        log: ${ .log + [ "finish" ] }
                      then: end
                  - innerSkipped:
                      set:
                        log: ${ .log + [ "inner-skipped" ] }
            - outerSkipped:
                set:
                  log: ${ .log + [ "outer-skipped" ] }
      - topSkipped:
          set:
            log: ${ .log + [ "top-skipped" ] }
    """
    And given the workflow input is:
    """yaml
    log: []
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    log: [ finish ]
    """
    And finish should run last
    And outer should complete

  # The workflow's output.as still applies when a nested task ends the workflow.
  Scenario: End from a nested list still goes through the workflow output
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-end-output, version: '1.0.0'}
    do:
      - outer:
          do:
            - finish:
                set:
                  value: 41
                then: end
      - never:
          set:
            value: 0
    output:
      as: ${ .value + 1 }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    42
    """

  # A jump backwards makes a loop; a switch decides when to leave it.
  Scenario: Backward jump loop
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-backward-loop, version: '1.0.0'}
    do:
      - init:
          set:
            count: 0
      - increment:
          set:
            count: ${ .count + 1 }
      - check:
          switch:
            - again:
                when: .count < 4
                then: increment
            - done:
                then: continue
      - report:
          set:
            total: ${ .count }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    total: 4
    """
    And init should run first
    And report should run last

  # A task's then may jump backwards directly, the loop being left by a conditional task.
  Scenario: Backward jump through a task's then with a conditional exit
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-then-loop, version: '1.0.0'}
    do:
      - grow:
          set:
            items: ${ .items + [ (.items | length) ] }
      - leaveWhenFull:
          if: ${ (.items | length) >= 3 }
          set:
            items: ${ .items }
          then: end
      - loopBack:
          set:
            items: ${ .items }
          then: grow
    """
    And given the workflow input is:
    """yaml
    items: []
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    items: [ 0, 1, 2 ]
    """
    And leaveWhenFull should run last

  # A forward jump skips the tasks in between; the flow then goes on in declaration order.
  Scenario: Forward jump skips tasks
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-forward-jump, version: '1.0.0'}
    do:
      - start:
          set:
            log: [ start ]
          then: target
      - skippedOne:
          set:
            log: ${ .log + [ "skipped-one" ] }
      - skippedTwo:
          set:
            log: ${ .log + [ "skipped-two" ] }
      - target:
          set:
            log: ${ .log + [ "target" ] }
      - following:
          set:
            log: ${ .log + [ "following" ] }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    log: [ start, target, following ]
    """
    And target should run after start
    And following should run last

  # Jumps inside a nested list stay inside that list.
  Scenario: Jump within a nested do list
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-nested-jump, version: '1.0.0'}
    do:
      - outer:
          do:
            - a:
                set:
                  log: ${ .log + [ "a" ] }
                then: c
            - b:
                set:
                  log: ${ .log + [ "b" ] }
            - c:
                set:
                  log: ${ .log + [ "c" ] }
      - d:
          set:
            log: ${ .log + [ "d" ] }
    """
    And given the workflow input is:
    """yaml
    log: []
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    log: [ a, c, d ]
    """

  # An explicit continue is the default: the next task in declaration order.
  Scenario: Explicit continue
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-continue, version: '1.0.0'}
    do:
      - first:
          set:
            log: [ first ]
          then: continue
      - second:
          set:
            log: ${ .log + [ "second" ] }
          then: continue
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    log: [ first, second ]
    """
    And second should run after first

  # The then of a composite task applies once its own list has run.
  Scenario: Then on a composite do task
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-composite-then, version: '1.0.0'}
    do:
      - group:
          do:
            - inside:
                set:
                  log: [ inside ]
          then: last
      - skipped:
          set:
            log: ${ .log + [ "skipped" ] }
      - last:
          set:
            log: ${ .log + [ "last" ] }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    log: [ inside, last ]
    """

  # An exit inside a nested list does not trigger the enclosing task's then: the enclosing task
  # completes and its own then applies.
  Scenario: Exit in a nested list then the composite's own directive
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-exit-then-end, version: '1.0.0'}
    do:
      - group:
          do:
            - leave:
                set:
                  log: [ leave ]
                then: exit
            - never:
                set:
                  log: [ never ]
          then: end
      - skipped:
          set:
            log: [ skipped ]
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    log: [ leave ]
    """
    And group should run first
    And leave should run last

  # `then: exit` in a try list leaves the try list; the try task completes.
  Scenario: Exit inside a try list
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-try-exit, version: '1.0.0'}
    do:
      - attempt:
          try:
            - leave:
                set:
                  log: [ leave ]
                then: exit
            - neverRaised:
                raise:
                  error:
                    type: https://example.com/errors/never
                    status: 500
          catch:
            do:
              - handler:
                  set:
                    log: [ handler ]
      - after:
          set:
            log: ${ .log + [ "after" ] }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    log: [ leave, after ]
    """
    And attempt should complete

  # `then: end` inside a try list ends the workflow.
  Scenario: End inside a try list
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-try-end, version: '1.0.0'}
    do:
      - attempt:
          try:
            - finish:
                set:
                  log: [ finish ]
                then: end
          catch:
            do:
              - handler:
                  set:
                    log: [ handler ]
      - after:
          set:
            log: [ after ]
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    log: [ finish ]
    """
    And finish should run last

  # `then: end` inside a catch.do list ends the workflow.
  Scenario: End inside a catch handler
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-catch-end, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 500
          catch:
            do:
              - handler:
                  set:
                    handled: true
                  then: end
      - after:
          set:
            handled: false
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    handled: true
    """
    And handler should run last

  # A task named by a jump runs again each time it is targeted.
  Scenario: Jumping back to an earlier task several times
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-repeat, version: '1.0.0'}
    do:
      - ping:
          set:
            log: ${ .log + [ "ping" ] }
      - pong:
          set:
            log: ${ .log + [ "pong" ] }
      - decide:
          switch:
            - more:
                when: (.log | length) < 6
                then: ping
    """
    And given the workflow input is:
    """yaml
    log: []
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    log: [ ping, pong, ping, pong, ping, pong ]
    """
    And decide should run last

  # `then: exit` inside catch.do leaves the handler list; the try completes with the output
  # so far.
  Scenario: Exit inside a catch handler
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: flow-catch-exit, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 500
          catch:
            do:
              - firstStep:
                  set:
                    log: [ handled ]
                  then: exit
              - secondStep:
                  set:
                    log: [ never ]
      - after:
          set:
            log: ${ .log + [ "after" ] }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    log: [ handled, after ]
    """
    And attempt should complete with output:
    """yaml
    log: [ handled ]
    """
