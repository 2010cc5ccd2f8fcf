Feature: Data Flow
  As an implementer of the workflow DSL
  I want to ensure that inputs, outputs, the context and their schemas flow as the DSL describes
  So that my implementation conforms to the expected behavior

  # input.from on a task: the task runs on the transformed input, which is also $input.
  Scenario: Task input transformed by an expression
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-input-from, version: '1.0.0'}
    do:
      - greet:
          input:
            from: .user
          set:
            greeting: ${ "Hello \(.name)" }
            same: ${ $input == . }
    """
    And given the workflow input is:
    """yaml
    user:
      name: Ada
    other: ignored
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    greeting: Hello Ada
    same: true
    """

  # input.from may be an object whose leaves are expressions.
  Scenario: Task input transformed by an object template
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-input-template, version: '1.0.0'}
    do:
      - reshape:
          input:
            from:
              who: ${ .user.name }
              fixed: constant
          set: ${ . }
    """
    And given the workflow input is:
    """yaml
    user:
      name: Ada
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    who: Ada
    fixed: constant
    """

  # output.as on a task: the next task receives the transformed output.
  Scenario: Task output transformed by an expression
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-output-as, version: '1.0.0'}
    do:
      - compute:
          set:
            result:
              value: 7
            noise: true
          output:
            as: .result
      - next:
          set:
            received: ${ . }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    received:
      value: 7
    """
    And compute should complete with output:
    """yaml
    value: 7
    """

  # output.as may be an object template; $input is the task's transformed input.
  Scenario: Task output merged with its input through $input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-output-merge, version: '1.0.0'}
    do:
      - enrich:
          set:
            added: 2
          output:
            as:
              original: ${ $input.original }
              added: ${ .added }
    """
    And given the workflow input is:
    """yaml
    original: 1
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    original: 1
    added: 2
    """

  # Data need not be objects: numbers, strings and arrays flow between tasks.
  Scenario: Non-object data flows between tasks
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-non-object, version: '1.0.0'}
    do:
      - number:
          set: ${ .n }
      - double:
          set: ${ . * 2 }
      - list:
          set: ${ [ ., . + 1 ] }
      - text:
          set: ${ map(tostring) | join("-") }
    """
    And given the workflow input is:
    """yaml
    n: 21
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    42-43
    """
    And double should complete with output:
    """yaml
    42
    """

  # export.as sets the context; later tasks read it through $context.
  Scenario: Export to the context and read it later
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-export, version: '1.0.0'}
    do:
      - login:
          set:
            token: abc
          export:
            as: '${ $context + { token: .token } }'
      - work:
          set:
            result: 42
      - report:
          set:
            result: ${ .result }
            token: ${ $context.token }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    result: 42
    token: abc
    """

  # export.as replaces the whole context.
  Scenario: Export replaces the context
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-export-replace, version: '1.0.0'}
    do:
      - first:
          set:
            a: 1
          export:
            as: .
      - second:
          set:
            b: 2
          export:
            as: .
      - report:
          set:
            context: ${ $context }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    context:
      b: 2
    """

  # export.as merging with $context keeps what earlier tasks exported.
  Scenario: Export merged into the context
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-export-merge, version: '1.0.0'}
    do:
      - first:
          set:
            a: 1
          export:
            as: $context + .
      - second:
          set:
            b: 2
          export:
            as: $context + .
      - report:
          set:
            context: ${ $context }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    context:
      a: 1
      b: 2
    """

  # export.as is evaluated on the transformed output, also available as $output.
  Scenario: Export evaluated on the transformed output
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-export-output, version: '1.0.0'}
    do:
      - compute:
          set:
            raw: 1
          output:
            as:
              transformed: ${ .raw + 1 }
          export:
            as:
              fromDot: ${ .transformed }
              fromOutput: ${ $output.transformed }
              rawSeen: ${ .raw }
      - report:
          set: ${ $context }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    fromDot: 2
    fromOutput: 2
    rawSeen: null
    """

  # A task without export leaves the context as it was.
  Scenario: Tasks without export keep the context
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-context-kept, version: '1.0.0'}
    do:
      - remember:
          set:
            kept: first
          export:
            as: .
      - overwriteData:
          set:
            kept: second
      - report:
          set:
            data: ${ .kept }
            context: ${ $context.kept }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    data: second
    context: first
    """

  # The context is available to input.from and output.as.
  Scenario: Context used in input.from and output.as
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-context-transforms, version: '1.0.0'}
    do:
      - remember:
          set:
            factor: 10
          export:
            as: .
      - scale:
          input:
            from: '${ { value: 4, factor: $context.factor } }'
          set:
            value: ${ .value * .factor }
          output:
            as: '${ { value, factor: $context.factor } }'
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    value: 40
    factor: 10
    """

  # Workflow input.from: the first task receives the transformed input; $workflow.input
  # stays the raw input.
  Scenario: Workflow input transformed
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-workflow-input, version: '1.0.0'}
    input:
      from: .order
    do:
      - look:
          set:
            received: ${ . }
            raw: ${ $workflow.input }
    """
    And given the workflow input is:
    """yaml
    order:
      id: 7
    meta: dropped
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    received:
      id: 7
    raw:
      order:
        id: 7
      meta: dropped
    """

  # Workflow output.as transforms the last task's output.
  Scenario: Workflow output transformed
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-workflow-output, version: '1.0.0'}
    do:
      - compute:
          set:
            total: 5
            internal: secret
    output:
      as:
        total: ${ .total }
        doubled: ${ .total * 2 }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    total: 5
    doubled: 10
    """

  # A workflow input that matches input.schema is accepted.
  Scenario: Workflow input matching its schema
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-input-schema-ok, version: '1.0.0'}
    input:
      schema:
        format: json
        document:
          type: object
          required: [ name ]
          properties:
            name:
              type: string
    do:
      - echo:
          set: ${ . }
    """
    And given the workflow input is:
    """yaml
    name: Ada
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    name: Ada
    """

  # dsl.md, Data Flow 1: an invalid workflow input faults with a validation error (400).
  Scenario: Workflow input violating its schema
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-input-schema-bad, version: '1.0.0'}
    input:
      schema:
        format: json
        document:
          type: object
          required: [ name ]
          properties:
            name:
              type: string
    do:
      - echo:
          set: ${ . }
    """
    And given the workflow input is:
    """yaml
    name: 42
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
    status: 400
    instance: /input
    """

  # The workflow input schema is checked on the raw input, before input.from.
  Scenario: Workflow input schema applies to the raw input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-input-schema-raw, version: '1.0.0'}
    input:
      schema:
        format: json
        document:
          type: object
          required: [ order ]
      from: .order.id
    do:
      - echo:
          set: ${ . }
    """
    And given the workflow input is:
    """yaml
    order:
      id: 3
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    3
    """

  # Task input.schema is checked on the raw task input, before input.from.
  Scenario: Task input schema applies to the raw task input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-task-input-schema-raw, version: '1.0.0'}
    do:
      - pick:
          input:
            schema:
              format: json
              document:
                type: object
                required: [ pet ]
            from: .pet
          set:
            name: ${ .name }
    """
    And given the workflow input is:
    """yaml
    pet:
      name: Milou
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    name: Milou
    """

  # An invalid task input faults the task with a validation error.
  Scenario: Task input violating its schema
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-task-input-schema-bad, version: '1.0.0'}
    do:
      - first:
          set:
            count: many
      - second:
          input:
            schema:
              format: json
              document:
                type: object
                properties:
                  count:
                    type: integer
          set:
            unreachable: true
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
    status: 400
    instance: /do/1/second
    """
    And second should fault

  # Task output.schema is checked after output.as, on the transformed output.
  Scenario: Task output schema applies to the transformed output
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-output-schema-transformed, version: '1.0.0'}
    do:
      - compute:
          set:
            raw: 1
          output:
            as:
              value: ${ .raw }
            schema:
              format: json
              document:
                type: object
                required: [ value ]
                additionalProperties: false
                properties:
                  value:
                    type: integer
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    value: 1
    """

  # An invalid transformed output faults the task with a validation error.
  Scenario: Task output violating its schema
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-output-schema-bad, version: '1.0.0'}
    do:
      - compute:
          set:
            value: one
          output:
            schema:
              format: json
              document:
                type: object
                properties:
                  value:
                    type: integer
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
    status: 400
    instance: /do/0/compute
    """
    And compute should fault

  # An exported context that violates export.schema faults with a validation error.
  Scenario: Exported context violating its schema
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-export-schema-bad, version: '1.0.0'}
    do:
      - remember:
          set:
            token: 12
          export:
            as: .
            schema:
              format: json
              document:
                type: object
                properties:
                  token:
                    type: string
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
    status: 400
    instance: /do/0/remember
    """

  # An exported context that matches export.schema is kept.
  Scenario: Exported context matching its schema
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-export-schema-ok, version: '1.0.0'}
    do:
      - remember:
          set:
            token: abc
          export:
            as: .
            schema:
              format: json
              document:
                type: object
                properties:
                  token:
                    type: string
      - report:
          set:
            token: ${ $context.token }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    token: abc
    """

  # The workflow output schema is checked after the workflow's output.as.
  Scenario: Workflow output violating its schema
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-workflow-output-schema, version: '1.0.0'}
    do:
      - compute:
          set:
            total: 5
    output:
      as: .total
      schema:
        format: json
        document:
          type: string
    """
    When the workflow is executed
    Then the workflow should fault with error:
    """yaml
    type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
    status: 400
    instance: /output
    """
    And compute should complete

  # A validation error can be caught like any other.
  Scenario: Validation error caught by a try
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-validation-caught, version: '1.0.0'}
    do:
      - guarded:
          try:
            - check:
                input:
                  schema:
                    format: json
                    document:
                      type: array
                set: ${ . }
          catch:
            errors:
              with:
                type: https://serverlessworkflow.io/spec/1.0.0/errors/validation
            do:
              - handle:
                  set:
                    invalid: ${ $error.instance }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    invalid: /do/0/guarded/try/0/check
    """

  # $task.input is the raw task input, before input.from.
  Scenario: Raw task input through $task.input
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-task-raw-input, version: '1.0.0'}
    do:
      - pick:
          input:
            from: .a
          set:
            transformed: ${ . }
            raw: ${ $task.input }
    """
    And given the workflow input is:
    """yaml
    a: 1
    b: 2
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    transformed: 1
    raw:
      a: 1
      b: 2
    """

  # A set task replaces its input: fields not set are gone.
  Scenario: Set replaces the data
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: data-set-replaces, version: '1.0.0'}
    do:
      - replace:
          set:
            only: this
    """
    And given the workflow input is:
    """yaml
    before: gone
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    only: this
    """
