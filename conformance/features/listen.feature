Feature: Emit and Listen on the in-process bus
  As an implementer of the workflow DSL
  I want to ensure that listen tasks consume the events they wait for
  So that my implementation conforms to the expected behavior

  Scenario: Listen to one event emitted by a concurrent branch
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - meet:
          fork:
            branches:
              - waiter:
                  listen:
                    to:
                      one:
                        with:
                          type: com.example.ready
                          data: '${ .n > 1 }'
              - teller:
                  emit:
                    event:
                      with: {source: https://nagare.test, type: com.example.ready, data: {n: 2}}
          output:
            as: '${ .[0] }'
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    - n: 2
    """

  Scenario: An event emitted before the listener starts is not lost
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - tell:
          emit:
            event:
              with: {source: https://nagare.test, type: com.example.early, data: early}
      - hear:
          listen:
            to:
              one:
                with: {type: com.example.early}
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    [early]
    """

  Scenario: Listen to all events, in any order, output in filter order, read envelope
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - tell:
          fork:
            branches:
              - b: {emit: {event: {with: {source: https://s.test, type: com.example.b, subject: second}}}}
              - a: {emit: {event: {with: {source: https://s.test, type: com.example.a, subject: first}}}}
      - hear:
          listen:
            to:
              all:
                - with: {type: com.example.a}
                - with: {type: com.example.b}
            read: envelope
          output:
            as: '${ map(.subject) }'
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    [first, second]
    """

  Scenario: Listen to any until a condition holds on the consumed events
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - tell:
          for: {in: '${ [1, 2, 3, 4] }', each: n}
          do:
            - one: {emit: {event: {with: {source: https://s.test, type: com.example.tick, data: '${ $n }'}}}}
      - hear:
          listen:
            to:
              any: []
              until: (. | add) >= 6
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    [1, 2, 3]
    """

  Scenario: Filters match by regular expression and correlation keys pick the right events
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - tell:
          for: {in: '${ ["A", "B", "A"] }', each: order}
          do:
            - line: {emit: {event: {with: {source: https://s.test, type: com.example.line.v1, data: {order: '${ $order }', at: '${ $index }'}}}}}
      - hear:
          listen:
            to:
              any:
                - with: {type: 'com\.example\.line\.v[0-9]+'}
                  correlate:
                    order: {from: .data.order, expect: '${ $workflow.input.order }'}
              until: (. | length) == 2
          foreach:
            item: line
            do:
              - pick: {set: {at: '${ $line.at }'}}
    """
    And given the workflow input is:
    """yaml
    order: A
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    - at: 0
    - at: 2
    """

  Scenario: A listen that nothing can satisfy faults in an in-process run
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - hear:
          listen:
            to:
              one:
                with: {type: com.example.never}
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
    status: 500
    """

  Scenario: Without expect, the first event's correlation value becomes the expectation
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - tell:
          for: {in: '${ ["x", "y", "x"] }', each: device}
          do:
            - reading: {emit: {event: {with: {source: https://s.test, type: com.example.reading, data: {device: '${ $device }', n: '${ $index }'}}}}}
      - hear:
          listen:
            to:
              any:
                - with: {type: com.example.reading}
                  correlate:
                    device: {from: .data.device}
              until: (. | length) == 2
          output:
            as: '${ map(.n) }'
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    [0, 2]
    """

  Scenario: Read raw gives the data as text
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    do:
      - tell: {emit: {event: {with: {source: https://s.test, type: com.example.raw, data: {a: 1}}}}}
      - hear:
          listen:
            to:
              one:
                with: {type: com.example.raw}
            read: raw
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    ['{"a":1}']
    """
