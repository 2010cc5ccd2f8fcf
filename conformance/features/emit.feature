Feature: Emit Task
  As an implementer of the workflow DSL
  I want to ensure that emit tasks build the CloudEvent they describe
  So that my implementation conforms to the expected behavior

  # The output of an emit task is the emitted event, completed with id, specversion and time.
  Scenario: Emit outputs the emitted event
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: emit-output, version: '1.0.0'}
    do:
      - orderPlaced:
          emit:
            event:
              with:
                source: https://petstore.com
                type: com.petstore.order.placed.v1
                subject: ${ "order-\(.orderId)" }
                data:
                  orderId: ${ .orderId }
                  items: ${ .items | length }
    """
    And given the workflow input is:
    """yaml
    orderId: 17
    items: [ dalmatian, poodle ]
    """
    When the workflow is executed
    Then the workflow should complete
    And the workflow output should have properties 'id', 'specversion', 'time', 'source', 'type', 'subject', 'data'
    And the workflow output should have a 'specversion' property with value:
    """yaml
    '1.0'
    """
    And the workflow output should have a 'source' property with value:
    """yaml
    https://petstore.com
    """
    And the workflow output should have a 'type' property with value:
    """yaml
    com.petstore.order.placed.v1
    """
    And the workflow output should have a 'subject' property with value:
    """yaml
    order-17
    """
    And the workflow output should have a 'data' property with value:
    """yaml
    orderId: 17
    items: 2
    """

  # Attributes the workflow sets are kept as given.
  Scenario: Emit keeps the id and time it is given
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: emit-given-id, version: '1.0.0'}
    do:
      - notify:
          emit:
            event:
              with:
                id: ${ "evt-\(.n)" }
                source: https://example.com/source
                type: com.example.notified.v1
                time: '2024-05-01T10:00:00Z'
                datacontenttype: application/json
                data:
                  n: ${ .n }
    """
    And given the workflow input is:
    """yaml
    n: 3
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    id: evt-3
    source: https://example.com/source
    type: com.example.notified.v1
    time: '2024-05-01T10:00:00Z'
    datacontenttype: application/json
    data:
      n: 3
    specversion: '1.0'
    """

  # Extension attributes are part of the event.
  Scenario: Emit with an extension attribute
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: emit-extension, version: '1.0.0'}
    do:
      - notify:
          emit:
            event:
              with:
                source: https://example.com/source
                type: com.example.notified.v1
                tenant: ${ .tenant }
    """
    And given the workflow input is:
    """yaml
    tenant: acme
    """
    When the workflow is executed
    Then the workflow should complete
    And the workflow output should have a 'tenant' property with value:
    """yaml
    acme
    """
    And the workflow output should have properties 'id', 'time'

  # Each emitted event gets its own id.
  Scenario: Two emitted events have different ids
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: emit-unique-ids, version: '1.0.0'}
    do:
      - first:
          emit:
            event:
              with:
                source: https://example.com/source
                type: com.example.first.v1
          export:
            as: '${ { firstId: .id } }'
      - second:
          emit:
            event:
              with:
                source: https://example.com/source
                type: com.example.second.v1
          output:
            as: ${ .id != $context.firstId }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    true
    """

  # The emit output can be reshaped by output.as like any task output.
  Scenario: Emit output transformed
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: emit-output-as, version: '1.0.0'}
    do:
      - notify:
          emit:
            event:
              with:
                source: https://example.com/source
                type: com.example.done.v1
                data:
                  done: true
          output:
            as: '$input + { emitted: .type }'
    """
    And given the workflow input is:
    """yaml
    kept: 1
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    kept: 1
    emitted: com.example.done.v1
    """
