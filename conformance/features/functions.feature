Feature: Custom Functions
  As an implementer of the workflow DSL
  I want to ensure that functions of use.functions can be called like built-in ones
  So that my implementation conforms to the expected behavior

  # A function is a task; `with` (evaluated on the calling task's input) is its input.
  Scenario: Call a set function with arguments
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: function-set, version: '1.0.0'}
    use:
      functions:
        greet:
          set:
            greeting: ${ "Hello, \(.name)!" }
    do:
      - sayHello:
          call: greet
          with:
            name: ${ .user.firstName }
    """
    And given the workflow input is:
    """yaml
    user:
      firstName: Ada
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    greeting: Hello, Ada!
    """
    And sayHello should complete with output:
    """yaml
    greeting: Hello, Ada!
    """

  # The same function called twice with different arguments.
  Scenario: Call the same function twice
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: function-twice, version: '1.0.0'}
    use:
      functions:
        double:
          set:
            value: ${ .value * 2 }
    do:
      - first:
          call: double
          with:
            value: ${ .start }
      - second:
          call: double
          with:
            value: ${ .value }
    """
    And given the workflow input is:
    """yaml
    start: 5
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    value: 20
    """
    And second should run after first

  # A function wrapping an HTTP call: its endpoint template is expanded with the function's
  # input, i.e. the call's arguments.
  Scenario: Call an HTTP function
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: function-http, version: '1.0.0'}
    use:
      functions:
        getPet:
          call: http
          with:
            method: get
            endpoint: https://petstore.swagger.io/v2/pet/{petId}
    do:
      - fetch:
          call: getPet
          with:
            petId: ${ .favorite }
          output:
            as: .name
    """
    And given the workflow input is:
    """yaml
    favorite: 4
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    Garfield
    """

  # A function may wrap an OpenAPI call.
  Scenario: Call an OpenAPI function
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: function-openapi, version: '1.0.0'}
    use:
      functions:
        findPets:
          call: openapi
          with:
            document:
              endpoint: https://petstore.swagger.io/v2/swagger.json
            operationId: findPetsByStatus
            parameters:
              status: ${ .status }
    do:
      - soldPets:
          call: findPets
          with:
            status: sold
          output:
            as: map(.name)
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    [ Garfield ]
    """

  # The function's own data flow (input.from, output.as) applies inside the call.
  Scenario: Function with its own data flow
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: function-data-flow, version: '1.0.0'}
    use:
      functions:
        area:
          input:
            from: .rectangle
          set:
            area: ${ .width * .height }
          output:
            as: .area
    do:
      - compute:
          call: area
          with:
            rectangle:
              width: ${ .w }
              height: ${ .h }
          output:
            as:
              area: ${ . }
              label: ${ "\($input.w)x\($input.h)" }
    """
    And given the workflow input is:
    """yaml
    w: 3
    h: 4
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    area: 12
    label: 3x4
    """

  # An error raised by a function can be caught around the call.
  Scenario: Function that raises an error
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: function-raise, version: '1.0.0'}
    use:
      functions:
        reject:
          raise:
            error:
              type: https://example.com/errors/rejected
              status: 422
              detail: ${ "rejected \(.what)" }
    do:
      - guarded:
          try:
            - callReject:
                call: reject
                with:
                  what: ${ .item }
          catch:
            errors:
              with:
                type: https://example.com/errors/rejected
            do:
              - handle:
                  set:
                    detail: ${ $error.detail }
                    status: ${ $error.status }
    """
    And given the workflow input is:
    """yaml
    item: parcel
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    detail: rejected parcel
    status: 422
    """

  # A function may be a composite task with several steps.
  Scenario: Call a composite do function
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: function-do, version: '1.0.0'}
    use:
      functions:
        normalize:
          do:
            - trim:
                set:
                  text: ${ .text | ltrimstr(" ") | rtrimstr(" ") }
            - lower:
                set:
                  text: ${ .text | ascii_downcase }
    do:
      - clean:
          call: normalize
          with:
            text: ${ .raw }
    """
    And given the workflow input is:
    """yaml
    raw: ' Hello World '
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    text: hello world
    """
    And lower should run last

  # A function called inside a loop, once per item.
  Scenario: Call a function inside a for loop
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: function-in-for, version: '1.0.0'}
    use:
      functions:
        square:
          set: ${ .n * .n }
    do:
      - squares:
          for:
            each: n
            in: .numbers
          do:
            - squareOne:
                call: square
                with:
                  n: ${ $n }
                output:
                  as: '${ $input + { squares: ($input.squares + [ . ]) } }'
    """
    And given the workflow input is:
    """yaml
    numbers: [ 1, 2, 3 ]
    squares: []
    """
    When the workflow is executed
    Then the workflow output should have a 'squares' property with value:
    """yaml
    [ 1, 4, 9 ]
    """
