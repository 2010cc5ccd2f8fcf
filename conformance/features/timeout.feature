Feature: Timeouts
  As an implementer of the workflow DSL
  I want to ensure that task and workflow timeouts interrupt execution with a timeout error
  So that my implementation conforms to the expected behavior

  # dsl.md, Timeouts: the error's type is .../errors/timeout and its status 408.
  Scenario: Task timeout faults the task and the workflow
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-task, version: '1.0.0'}
    do:
      - slow:
          wait:
            milliseconds: 500
          timeout:
            after:
              milliseconds: 20
      - after:
          set:
            unreachable: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
    status: 408
    instance: /do/0/slow
    """
    And slow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
    status: 408
    """
    And slow should run last

  # A task that ends within its timeout completes normally.
  Scenario: Task completing within its timeout
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-task-ok, version: '1.0.0'}
    do:
      - quick:
          wait:
            milliseconds: 5
          timeout:
            after:
              seconds: 5
      - after:
          set:
            done: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    done: true
    """
    And quick should complete

  # A timeout on a composite task cancels the subtask that is still running.
  Scenario: Timeout of a composite task cancels its running subtask
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-composite, version: '1.0.0'}
    do:
      - group:
          timeout:
            after:
              milliseconds: 20
          do:
            - first:
                set:
                  started: true
            - stuck:
                wait:
                  milliseconds: 500
            - never:
                set:
                  reached: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
    status: 408
    instance: /do/0/group
    """
    And first should complete
    And stuck should cancel
    And group should fault
    And stuck should run last

  # A timeout error can be caught like any other error.
  Scenario: Task timeout caught by a try
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-caught, version: '1.0.0'}
    do:
      - guarded:
          try:
            - slow:
                wait:
                  milliseconds: 500
                timeout:
                  after:
                    milliseconds: 10
          catch:
            errors:
              with:
                type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
                status: 408
            do:
              - handle:
                  set:
                    timedOut: ${ $error.instance }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    timedOut: /do/0/guarded/try/0/slow
    """
    And slow should fault

  # A timeout from use.timeouts, referenced by name.
  Scenario: Task timeout from a reusable timeout
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-named, version: '1.0.0'}
    use:
      timeouts:
        short:
          after:
            milliseconds: 10
    do:
      - slow:
          wait:
            milliseconds: 500
          timeout: short
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
    status: 408
    instance: /do/0/slow
    """

  # The timeout duration may be an ISO 8601 duration.
  Scenario: Task timeout written as an ISO 8601 duration
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-iso, version: '1.0.0'}
    do:
      - slow:
          wait:
            milliseconds: 500
          timeout:
            after: PT0.01S
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
    status: 408
    instance: /do/0/slow
    """

  # A workflow timeout interrupts the running task and faults the workflow.
  Scenario: Workflow timeout
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-workflow, version: '1.0.0'}
    timeout:
      after:
        milliseconds: 20
    do:
      - first:
          set:
            started: true
      - slow:
          wait:
            milliseconds: 500
      - never:
          set:
            reached: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
    status: 408
    """
    And first should complete
    And slow should cancel
    And slow should run last

  # A workflow timeout from use.timeouts.
  Scenario: Workflow timeout from a reusable timeout
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-workflow-named, version: '1.0.0'}
    use:
      timeouts:
        brief:
          after:
            milliseconds: 20
    timeout: brief
    do:
      - slow:
          wait:
            milliseconds: 500
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
    status: 408
    """
    And slow should cancel

  # A workflow that ends in time completes.
  Scenario: Workflow completing within its timeout
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-workflow-ok, version: '1.0.0'}
    timeout:
      after:
        seconds: 5
    do:
      - quick:
          wait:
            milliseconds: 5
      - done:
          set:
            done: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    done: true
    """

  # A try cannot catch the workflow's own timeout.
  Scenario: Workflow timeout is not caught by a try inside the workflow
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-workflow-uncaught, version: '1.0.0'}
    timeout:
      after:
        milliseconds: 20
    do:
      - guarded:
          try:
            - slow:
                wait:
                  milliseconds: 500
          catch:
            do:
              - handle:
                  set:
                    caught: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
    status: 408
    """
    And guarded should cancel
    And slow should cancel

  # A timed-out HTTP call is interrupted: a 1 s server delay against a 30 ms timeout.
  Scenario: Timeout of an HTTP call
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-http, version: '1.0.0'}
    do:
      - slowCall:
          call: http
          with:
            method: get
            endpoint: https://httpbin.org/delay/1
          timeout:
            after:
              milliseconds: 30
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
    status: 408
    instance: /do/0/slowCall
    """

  # A timeout on each attempt, retried: every attempt times out, then the handler runs.
  Scenario: Timed-out task retried by an enclosing try
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-retried, version: '1.0.0'}
    do:
      - guarded:
          try:
            - count:
                set: ${ . }
                export:
                  as: '${ $context + { attempts: (($context.attempts // 0) + 1) } }'
            - slow:
                wait:
                  milliseconds: 500
                timeout:
                  after:
                    milliseconds: 5
          catch:
            errors:
              with:
                status: 408
            retry:
              delay:
                milliseconds: 1
              limit:
                attempt:
                  count: 2
            do:
              - handle:
                  set:
                    attempts: ${ $context.attempts }
                    status: ${ $error.status }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    attempts: 3
    status: 408
    """

  # A timeout on a try task bounds its retries too: the retries never end, the timeout does.
  Scenario: Timeout on a try task interrupts its retries
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: timeout-try-retries, version: '1.0.0'}
    do:
      - attempt:
          timeout:
            after:
              milliseconds: 50
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/transient
                    status: 503
          catch:
            retry:
              delay:
                milliseconds: 10
              limit:
                attempt:
                  count: 1000
            do:
              - handle:
                  set:
                    handled: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/timeout
    status: 408
    instance: /do/0/attempt
    """
    And attempt should fault
