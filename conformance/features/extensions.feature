Feature: Extensions
  As an implementer of the workflow DSL
  I want to ensure that extensions run around the tasks they extend
  So that my implementation conforms to the expected behavior

  Scenario: A before list that exits replaces the extended call (mock service)
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    use:
      extensions:
        - mockService:
            extend: call
            when: ($task.with.endpoint | startswith("https://mocked.service.com")) or ($task.with.endpoint.uri | startswith("https://mocked.service.com"))
            before:
              - mockResponse:
                  set:
                    statusCode: 200
                    content: {foo: {bar: baz}}
                  then: exit
    do:
      - callHttp:
          call: http
          with:
            method: get
            endpoint:
              uri: https://mocked.service.com/sample
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    statusCode: 200
    content: {foo: {bar: baz}}
    """
    And mockResponse should run first
    And mockResponse should run last

  Scenario: An extension whose when does not hold leaves the task alone
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    use:
      extensions:
        - onlyBig:
            extend: set
            when: .n > 10
            before:
              - replace:
                  set: {replaced: true}
                  then: exit
    do:
      - small:
          set: {n: '${ .n }'}
    """
    And given the workflow input is:
    """yaml
    n: 1
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    n: 1
    """

  Scenario: Before and after run around every task of the extended type, in order
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    use:
      extensions:
        - audit:
            extend: set
            before:
              - logBefore:
                  export:
                    as: '${ $context + { log: (($context.log // []) + ["before " + $task.reference]) } }'
                  set: {logged: true}
            after:
              - logAfter:
                  export:
                    as: '${ $context + { log: ($context.log + ["after " + $task.name]) } }'
                  set: {logged: true}
    do:
      - first:
          set: {a: 1}
      - second:
          set:
            a: '${ .a }'
            log: '${ $context.log }'
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    a: 1
    log: [before /do/0/first, after first, before /do/1/second]
    """
    And logBefore should run first
    And logAfter should run last

  Scenario: extend all applies to every kind of task
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: scenario, version: '1.0.0'}
    use:
      extensions:
        - count:
            extend: all
            after:
              - tick:
                  export:
                    as: '${ $context + { n: (($context.n // 0) + 1) } }'
                  set: {logged: true}
    do:
      - pause:
          wait: {milliseconds: 1}
      - note:
          set:
            seen: '${ $context.n }'
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    seen: 1
    """
