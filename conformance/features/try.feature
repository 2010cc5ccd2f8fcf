Feature: Try Task
  As an implementer of the workflow DSL
  I want to ensure that try tasks catch exactly the errors they filter
  So that my implementation conforms to the expected behavior

  # errors.with.type: caught when the type matches.
  Scenario: Catch by error type
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-filter-type, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 418
          catch:
            errors:
              with:
                type: https://example.com/errors/boom
            do:
              - handle:
                  set:
                    caught: ${ $error.type }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    caught: https://example.com/errors/boom
    """
    And boom should fault
    And attempt should complete

  # errors.with.type: an error of another type is not caught and faults the workflow.
  Scenario: Error of another type is not caught
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-filter-type-miss, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 418
                    title: Teapot
          catch:
            errors:
              with:
                type: https://example.com/errors/other
            do:
              - handle:
                  set:
                    caught: true
      - after:
          set:
            after: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/boom
    status: 418
    title: Teapot
    instance: /do/0/attempt/try/0/boom
    """
    And attempt should fault
    And boom should run last

  # errors.with.status: caught when the status matches.
  Scenario: Catch by error status
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-filter-status, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 503
          catch:
            errors:
              with:
                status: 503
            do:
              - handle:
                  set:
                    caught: ${ $error.status }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    caught: 503
    """

  # errors.with.status: another status is not caught.
  Scenario: Error with another status is not caught
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-filter-status-miss, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 500
          catch:
            errors:
              with:
                type: https://example.com/errors/boom
                status: 503
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/boom
    status: 500
    instance: /do/0/attempt/try/0/boom
    """

  # errors.with.instance: caught when the error comes from the named task.
  Scenario: Catch by error instance
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-filter-instance, version: '1.0.0'}
    do:
      - attempt:
          try:
            - first:
                set:
                  ok: true
            - second:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 500
          catch:
            errors:
              with:
                instance: /do/0/attempt/try/1/second
            do:
              - handle:
                  set:
                    from: ${ $error.instance }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    from: /do/0/attempt/try/1/second
    """

  # errors.with.instance: an error raised elsewhere is not caught.
  Scenario: Error from another instance is not caught
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-filter-instance-miss, version: '1.0.0'}
    do:
      - attempt:
          try:
            - first:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 500
          catch:
            errors:
              with:
                instance: /do/0/attempt/try/1/second
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/boom
    status: 500
    instance: /do/0/attempt/try/0/first
    """

  # errors.with.title: caught when the title matches.
  Scenario: Catch by error title
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-filter-title, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 409
                    title: Conflict Detected
          catch:
            errors:
              with:
                title: Conflict Detected
            do:
              - handle:
                  set:
                    caught: ${ $error.title }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    caught: Conflict Detected
    """

  # errors.with.title: another title is not caught.
  Scenario: Error with another title is not caught
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-filter-title-miss, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 409
                    title: Conflict Detected
          catch:
            errors:
              with:
                title: Something Else
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/boom
    status: 409
    title: Conflict Detected
    instance: /do/0/attempt/try/0/boom
    """

  # errors.with.details: caught when the error's detail matches.
  Scenario: Catch by error details
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-filter-details, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 400
                    detail: the order has no items
          catch:
            errors:
              with:
                details: the order has no items
            do:
              - handle:
                  set:
                    caught: ${ $error.detail }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    caught: the order has no items
    """

  # errors.with.details: another detail is not caught.
  Scenario: Error with other details is not caught
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-filter-details-miss, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 400
                    detail: the order has no items
          catch:
            errors:
              with:
                details: the order is empty
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/boom
    status: 400
    detail: the order has no items
    instance: /do/0/attempt/try/0/boom
    """

  # Every field of the filter must match.
  Scenario: Catch with every filter field matching
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-filter-all, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 422
                    title: Unprocessable
                    detail: bad field
          catch:
            errors:
              with:
                type: https://example.com/errors/boom
                status: 422
                instance: /do/0/attempt/try/0/boom
                title: Unprocessable
                details: bad field
            do:
              - handle:
                  set:
                    caught: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    caught: true
    """

  # A catch without an error filter catches any error.
  Scenario: Catch without a filter catches everything
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-catch-all, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/anything
                    status: 599
          catch:
            do:
              - handle:
                  set:
                    status: ${ $error.status }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    status: 599
    """

  # catch.as renames the error variable.
  Scenario: Catch with a custom error variable name
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-catch-as, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 400
                    title: Bad Input
          catch:
            as: problem
            do:
              - handle:
                  set:
                    title: ${ $problem.title }
                    status: ${ $problem.status }
                    instance: ${ $problem.instance }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    title: Bad Input
    status: 400
    instance: /do/0/attempt/try/0/boom
    """

  # catch.when: caught only when the condition holds.
  Scenario: Catch when the condition holds
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-catch-when, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 503
          catch:
            when: ${ $error.status >= 500 }
            do:
              - handle:
                  set:
                    retryable: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    retryable: true
    """

  # catch.when: a false condition leaves the error uncaught.
  Scenario: Catch when the condition does not hold
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-catch-when-false, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 404
          catch:
            when: ${ $error.status >= 500 }
            do:
              - handle:
                  set:
                    retryable: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/boom
    status: 404
    instance: /do/0/attempt/try/0/boom
    """

  # catch.exceptWhen: a true condition leaves the error uncaught.
  Scenario: Catch except when the condition holds
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-catch-except-when, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/fatal
                    status: 500
          catch:
            exceptWhen: ${ $error.type == "https://example.com/errors/fatal" }
            do:
              - handle:
                  set:
                    handled: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/fatal
    status: 500
    instance: /do/0/attempt/try/0/boom
    """

  # catch.exceptWhen: a false condition lets the error be caught.
  Scenario: Catch except when the condition does not hold
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-catch-except-when-false, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/transient
                    status: 500
          catch:
            exceptWhen: ${ $error.type == "https://example.com/errors/fatal" }
            do:
              - handle:
                  set:
                    handled: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    handled: true
    """

  # catch.when sees the error under its catch.as name.
  Scenario: Catch when condition uses the custom error name
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-catch-when-as, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 429
                    detail: slow down
          catch:
            as: oops
            when: ${ $oops.detail == "slow down" }
            do:
              - handle:
                  set:
                    throttled: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    throttled: true
    """

  # The output of catch.do is the try task's output, and the flow goes on after the try.
  Scenario: Catch handler output becomes the try output
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-catch-output, version: '1.0.0'}
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
              - fallback:
                  set:
                    value: ${ .value * 2 }
                    recovered: true
      - after:
          set:
            value: ${ .value + 1 }
            recovered: ${ .recovered }
    """
    And given the workflow input is:
    """yaml
    value: 20
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    value: 41
    recovered: true
    """
    And attempt should complete with output:
    """yaml
    value: 40
    recovered: true
    """
    And after should run last

  # The catch handler receives the try task's input, not the output of the tasks that ran
  # before the fault.
  Scenario: Catch handler input is the try input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-handler-input, version: '1.0.0'}
    do:
      - attempt:
          try:
            - change:
                set:
                  changed: true
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 500
          catch:
            do:
              - handle:
                  set: '${ . + { handled: true } }'
    """
    And given the workflow input is:
    """yaml
    original: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    original: true
    handled: true
    """

  # nagare's reading: a caught error without catch.do leaves the try's input as its output.
  Scenario: Catch without a handler outputs the try input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-no-handler, version: '1.0.0'}
    do:
      - attempt:
          try:
            - change:
                set:
                  changed: true
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 500
          catch:
            errors:
              with:
                status: 500
      - after:
          set: '${ . + { after: true } }'
    """
    And given the workflow input is:
    """yaml
    original: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    original: true
    after: true
    """
    And attempt should complete with output:
    """yaml
    original: true
    """

  # Without a fault, the try's output is its last task's output and the handler never runs.
  Scenario: Try without a fault
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-no-fault, version: '1.0.0'}
    do:
      - attempt:
          try:
            - one:
                set:
                  step: 1
            - two:
                set:
                  step: ${ .step + 1 }
          catch:
            do:
              - handle:
                  set:
                    handled: true
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    step: 2
    """
    And two should run last

  # An inner try that does not match lets the error reach the outer one; the instance still
  # points at the task that raised it.
  Scenario: Nested try blocks
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-nested, version: '1.0.0'}
    do:
      - outer:
          try:
            - inner:
                try:
                  - boom:
                      raise:
                        error:
                          type: https://example.com/errors/boom
                          status: 500
                catch:
                  errors:
                    with:
                      status: 404
                  do:
                    - innerHandler:
                        set:
                          by: inner
          catch:
            errors:
              with:
                status: 500
            do:
              - outerHandler:
                  set:
                    by: outer
                    instance: ${ $error.instance }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    by: outer
    instance: /do/0/outer/try/0/inner/try/0/boom
    """
    And inner should fault
    And outer should complete

  # An error raised by catch.do is not caught by the same try: it faults the try task, with
  # the handler task's pointer as its instance.
  Scenario: Error raised by the catch handler
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-handler-raises, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/first
                    status: 500
          catch:
            do:
              - rethrow:
                  raise:
                    error:
                      type: https://example.com/errors/second
                      status: 502
                      detail: ${ "after \($error.type)" }
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/second
    status: 502
    detail: after https://example.com/errors/first
    instance: /do/0/attempt/catch/do/0/rethrow
    """
    And rethrow should fault
    And attempt should fault

  # An expression that fails is an expression error (400) that try can catch.
  Scenario: Catch an expression error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-expression-error, version: '1.0.0'}
    do:
      - attempt:
          try:
            - compute:
                set:
                  value: ${ .text | tonumber }
          catch:
            errors:
              with:
                type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
                status: 400
            do:
              - handle:
                  set:
                    type: ${ $error.type }
                    status: ${ $error.status }
                    instance: ${ $error.instance }
    """
    And given the workflow input is:
    """yaml
    text: not a number
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/expression
    status: 400
    instance: /do/0/attempt/try/0/compute
    """

  # A communication error from an HTTP call is caught with the spec's standard type.
  Scenario: Catch a communication error by its standard type
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-communication, version: '1.0.0'}
    do:
      - attempt:
          try:
            - getMissingPet:
                call: http
                with:
                  method: get
                  endpoint: https://petstore.swagger.io/v2/pet/999
          catch:
            errors:
              with:
                type: https://serverlessworkflow.io/spec/1.0.0/errors/communication
                status: 404
            do:
              - handle:
                  set:
                    missing: true
                    instance: ${ $error.instance }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    missing: true
    instance: /do/0/attempt/try/0/getMissingPet
    """

  # A try nested in a for body catches each iteration's error separately.
  Scenario: Try inside a for loop
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-in-for, version: '1.0.0'}
    do:
      - loop:
          for:
            each: n
            in: .numbers
          do:
            - guarded:
                try:
                  - check:
                      if: ${ $n < 0 }
                      raise:
                        error:
                          type: https://example.com/errors/negative
                          status: 400
                  - accept:
                      set:
                        numbers: ${ .numbers }
                        results: ${ .results + [ $n ] }
                catch:
                  do:
                    - reject:
                        set:
                          numbers: ${ .numbers }
                          results: ${ .results + [ "rejected" ] }
    """
    And given the workflow input is:
    """yaml
    numbers: [ 1, -2, 3 ]
    results: []
    """
    When the workflow is executed
    Then the workflow output should have a 'results' property with value:
    """yaml
    [ 1, rejected, 3 ]
    """

  # The error variable is the whole error object.
  Scenario: Caught error object has every field
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-error-object, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 400
                    title: Boom
                    detail: it went boom
          catch:
            do:
              - handle:
                  set:
                    error: ${ $error }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    error:
      type: https://example.com/errors/boom
      status: 400
      title: Boom
      detail: it went boom
      instance: /do/0/attempt/try/0/boom
    """

  # The filter and the when condition must both accept the error.
  Scenario: Matching filter but false when condition is not caught
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-filter-and-when, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/boom
                    status: 500
                    detail: permanent
          catch:
            errors:
              with:
                type: https://example.com/errors/boom
            when: ${ $error.detail == "transient" }
            do:
              - handle:
                  set:
                    handled: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://example.com/errors/boom
    status: 500
    detail: permanent
    instance: /do/0/attempt/try/0/boom
    """

  # A try inside a catch handler handles the handler's own errors.
  Scenario: Try nested in a catch handler
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-in-handler, version: '1.0.0'}
    do:
      - attempt:
          try:
            - boom:
                raise:
                  error:
                    type: https://example.com/errors/first
                    status: 500
          catch:
            as: first
            do:
              - recover:
                  try:
                    - boomAgain:
                        raise:
                          error:
                            type: https://example.com/errors/second
                            status: 500
                  catch:
                    as: second
                    do:
                      - report:
                          set:
                            first: ${ $first.type }
                            second: ${ $second.type }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    first: https://example.com/errors/first
    second: https://example.com/errors/second
    """

  # The try task's own output.as and then apply after a caught error, like after a success.
  Scenario: Try task data flow and directive after a caught error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: try-own-output-then, version: '1.0.0'}
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
              - handle:
                  set:
                    recovered: true
          output:
            as:
              status: ${ if .recovered then "recovered" else "clean" end }
          then: end
      - never:
          set:
            status: unreachable
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    status: recovered
    """
    And attempt should run before handle
    And handle should run last
