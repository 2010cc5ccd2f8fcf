Feature: Raise Task
  As an implementer of the workflow DSL
  I want to ensure that raise tasks fault with the error they define
  So that my implementation conforms to the expected behavior

  # Every field of an inline error is raised; the instance is the raising task's pointer.
  Scenario: Raise an inline error with every field
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: raise-inline, version: '1.0.0'}
    do:
      - prepare:
          set:
            ready: true
      - fail:
          raise:
            error:
              type: https://example.com/errors/not-allowed
              status: 403
              title: Not Allowed
              detail: the user may not do this
      - never:
          set:
            reached: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/not-allowed
    status: 403
    title: Not Allowed
    detail: the user may not do this
    instance: /do/1/fail
    """
    And fail should fault with error:
    """yaml
    type: https://example.com/errors/not-allowed
    status: 403
    """
    And prepare should complete
    And fail should run last

  # A raise may name an error of use.errors.
  Scenario: Raise a reusable error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: raise-reusable, version: '1.0.0'}
    use:
      errors:
        outOfStock:
          type: https://example.com/errors/out-of-stock
          status: 409
          title: Out Of Stock
    do:
      - fail:
          raise:
            error: outOfStock
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/out-of-stock
    status: 409
    title: Out Of Stock
    instance: /do/0/fail
    """

  # title and detail may be runtime expressions, evaluated on the task's input.
  Scenario: Raise with expressions in the title and detail
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: raise-expressions, version: '1.0.0'}
    do:
      - fail:
          raise:
            error:
              type: https://example.com/errors/pet-not-found
              status: 404
              title: ${ "Pet \(.petId) Not Found" }
              detail: ${ "no pet has the id \(.petId) among \(.known | length) pets" }
    """
    And given the workflow input is:
    """yaml
    petId: 42
    known: [ 1, 2, 3 ]
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/pet-not-found
    status: 404
    title: Pet 42 Not Found
    detail: no pet has the id 42 among 3 pets
    instance: /do/0/fail
    """

  # A reusable error with expressions is evaluated where it is raised.
  Scenario: Raise a reusable error with expressions
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: raise-reusable-expressions, version: '1.0.0'}
    use:
      errors:
        invalidOrder:
          type: https://example.com/errors/invalid-order
          status: 400
          detail: ${ "order \(.orderId) is invalid" }
    do:
      - check:
          raise:
            error: invalidOrder
    """
    And given the workflow input is:
    """yaml
    orderId: A-17
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/invalid-order
    status: 400
    detail: order A-17 is invalid
    instance: /do/0/check
    """

  # The type may be computed too.
  Scenario: Raise with an expression as the error type
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: raise-type-expression, version: '1.0.0'}
    do:
      - fail:
          raise:
            error:
              type: ${ "https://example.com/errors/\(.kind)" }
              status: 400
    """
    And given the workflow input is:
    """yaml
    kind: dynamic
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/dynamic
    status: 400
    instance: /do/0/fail
    """

  # A raise with a standard error type.
  Scenario: Raise a standard error type
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: raise-standard, version: '1.0.0'}
    do:
      - fail:
          raise:
            error:
              type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
              status: 500
              title: Runtime Error
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/runtime
    status: 500
    title: Runtime Error
    instance: /do/0/fail
    """

  # The instance of an error raised deep down is the full pointer of the raising task.
  Scenario: Raise inside nested tasks
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: raise-nested, version: '1.0.0'}
    do:
      - first:
          set: ${ . }
      - outer:
          do:
            - skipMe:
                set: ${ . }
            - inner:
                do:
                  - fail:
                      raise:
                        error:
                          type: https://example.com/errors/deep
                          status: 500
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/deep
    status: 500
    instance: /do/1/outer/do/1/inner/do/0/fail
    """
    And fail should fault
    And inner should fault
    And outer should fault

  # An error carries its instance out of an enclosing task unchanged.
  Scenario: Raise inside a switch-routed branch
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: raise-switch, version: '1.0.0'}
    do:
      - route:
          switch:
            - bad:
                when: .priority == "unknown"
                then: rejectTicket
            - good:
                then: acceptTicket
      - acceptTicket:
          set:
            accepted: true
          then: end
      - rejectTicket:
          raise:
            error:
              type: https://example.com/errors/tickets/undefined-priority
              status: 400
              title: Undefined Priority
    """
    And given the workflow input is:
    """yaml
    priority: unknown
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/tickets/undefined-priority
    status: 400
    title: Undefined Priority
    instance: /do/2/rejectTicket
    """
    And rejectTicket should run after route

  # nagare's reading of raise.error.instance: an explicit instance replaces the default
  # pointer.
  Scenario: Raise with an explicit instance
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: raise-explicit-instance, version: '1.0.0'}
    do:
      - fail:
          raise:
            error:
              type: https://example.com/errors/custom
              status: 400
              instance: /custom/place
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/custom
    status: 400
    instance: /custom/place
    """

  # A skipped raise (if false) raises nothing.
  Scenario: Conditional raise that does not apply
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: raise-skipped, version: '1.0.0'}
    do:
      - validate:
          if: .amount < 0
          raise:
            error:
              type: https://example.com/errors/negative
              status: 400
      - accept:
          set:
            accepted: ${ .amount }
    """
    And given the workflow input is:
    """yaml
    amount: 10
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    accepted: 10
    """
