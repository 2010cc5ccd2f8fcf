Feature: Switch Task
  As an implementer of the workflow DSL
  I want to ensure that switch tasks pick the right path
  So that my implementation conforms to the expected behavior

  # The first case whose condition holds decides, even when a later one also holds.
  Scenario: Switch takes the first matching case
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: switch-first-match, version: '1.0.0'}
    do:
      - classify:
          switch:
            - big:
                when: .size > 10
                then: onBig
            - positive:
                when: .size > 0
                then: onPositive
      - onPositive:
          set:
            kind: positive
          then: end
      - onBig:
          set:
            kind: big
    """
    And given the workflow input is:
    """yaml
    size: 42
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    kind: big
    """
    And onBig should run after classify
    And onBig should run last

  # A case without when (the default) is taken when no other case matches.
  Scenario: Switch falls back to its default case
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: switch-default, version: '1.0.0'}
    do:
      - route:
          switch:
            - cat:
                when: .animal == "cat"
                then: meow
            - other:
                then: silence
      - meow:
          set:
            sound: meow
          then: end
      - silence:
          set:
            sound: none
    """
    And given the workflow input is:
    """yaml
    animal: fish
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    sound: none
    """
    And silence should run last

  # When no case matches and there is no default, the switch's own then applies: by default
  # `continue`, the next task in declaration order.
  Scenario: Switch with no matching case continues with the next task
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: switch-no-match, version: '1.0.0'}
    do:
      - route:
          switch:
            - cat:
                when: .animal == "cat"
                then: meow
      - next:
          set:
            animal: ${ .animal }
            routed: false
          then: end
      - meow:
          set:
            routed: true
    """
    And given the workflow input is:
    """yaml
    animal: dog
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    animal: dog
    routed: false
    """
    And next should run after route
    And next should run last

  # When no case matches, the switch task's own then directive applies.
  Scenario: Switch with no matching case follows the switch's own then
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: switch-no-match-then, version: '1.0.0'}
    do:
      - route:
          switch:
            - cat:
                when: .animal == "cat"
                then: meow
          then: fallback
      - meow:
          set:
            sound: meow
          then: end
      - fallback:
          set:
            sound: unknown
    """
    And given the workflow input is:
    """yaml
    animal: dog
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    sound: unknown
    """
    And fallback should run after route

  # The matching case's directive wins over the switch task's own then.
  Scenario: Switch case directive overrides the switch's own then
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: switch-case-over-then, version: '1.0.0'}
    do:
      - route:
          switch:
            - cat:
                when: .animal == "cat"
                then: meow
          then: fallback
      - meow:
          set:
            sound: meow
          then: end
      - fallback:
          set:
            sound: unknown
    """
    And given the workflow input is:
    """yaml
    animal: cat
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    sound: meow
    """
    And meow should run last

  # A switch does not change the data: its output is its input.
  Scenario: Switch output is its input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: switch-output, version: '1.0.0'}
    do:
      - route:
          switch:
            - always:
                when: .ok
                then: continue
    """
    And given the workflow input is:
    """yaml
    ok: true
    payload: [ 1, 2 ]
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    ok: true
    payload: [ 1, 2 ]
    """
    And route should complete with output:
    """yaml
    ok: true
    payload: [ 1, 2 ]
    """

  # A case may end the workflow.
  Scenario: Switch case with the end directive
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: switch-end, version: '1.0.0'}
    do:
      - route:
          switch:
            - stop:
                when: .stop
                then: end
      - notReached:
          set:
            reached: true
    """
    And given the workflow input is:
    """yaml
    stop: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    stop: true
    """
    And route should run last

  # A case may exit the current list: in a nested list, the enclosing list goes on.
  Scenario: Switch case with the exit directive in a nested list
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: switch-exit, version: '1.0.0'}
    do:
      - group:
          do:
            - route:
                switch:
                  - leave:
                      when: .leave
                      then: exit
            - skippedInGroup:
                set:
                  skipped: true
      - after:
          set:
            leave: ${ .leave }
            after: true
    """
    And given the workflow input is:
    """yaml
    leave: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    leave: true
    after: true
    """
    And after should run after route

  # Conditions are full jq expressions over the switch's input, with or without ${ }.
  Scenario: Switch conditions in both expression forms
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: switch-expression-forms, version: '1.0.0'}
    do:
      - route:
          switch:
            - hasAdmin:
                when: '${ .roles | index("admin") != null }'
                then: admin
            - hasUser:
                when: 'any(.roles[]; . == "user")'
                then: user
      - admin:
          set:
            access: admin
          then: end
      - user:
          set:
            access: user
    """
    And given the workflow input is:
    """yaml
    roles: [ guest, user ]
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    access: user
    """

  # Switch conditions can read the workflow context.
  Scenario: Switch condition on the context
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: switch-context, version: '1.0.0'}
    do:
      - remember:
          set:
            mode: fast
          export:
            as: .
      - forget:
          set:
            nothing: true
      - route:
          switch:
            - fast:
                when: $context.mode == "fast"
                then: goFast
            - slow:
                then: goSlow
      - goSlow:
          set:
            speed: slow
          then: end
      - goFast:
          set:
            speed: fast
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    speed: fast
    """

  # A switch inside a for body routes each iteration independently.
  Scenario: Switch inside a for loop
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: switch-in-for, version: '1.0.0'}
    do:
      - loop:
          for:
            each: n
            in: .numbers
          do:
            - parity:
                switch:
                  - even:
                      when: ${ $n % 2 == 0 }
                      then: markEven
                  - odd:
                      then: markOdd
            - markEven:
                set:
                  numbers: ${ .numbers }
                  labels: ${ .labels + [ "even" ] }
                then: iterationDone
            - markOdd:
                set:
                  numbers: ${ .numbers }
                  labels: ${ .labels + [ "odd" ] }
            - iterationDone:
                set: ${ . }
    """
    And given the workflow input is:
    """yaml
    numbers: [ 1, 2, 3 ]
    labels: []
    """
    When the workflow is executed
    Then the workflow output should have a 'labels' property with value:
    """yaml
    [ odd, even, odd ]
    """
